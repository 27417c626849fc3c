"""Stub CUDA libraries that let PyPI's Linux torch wheel run on the CPU
without its nvidia-* / cuda-toolkit dependencies (several GB).

PyPI has only the CUDA build of torch for Linux x86-64, and even its
libtorch_cpu.so is linked against libcudart and libcupti, so `pip install
--no-deps torch` alone fails at `import torch` (libcudart.so.13 not found).
The CPU-only wheels live on PyTorch's own index, which this machine cannot
reach. The CPU kernels (ATen, MKL, oneDNN) are the same code in both builds,
so it is enough to satisfy the dynamic linker: for every CUDA library that
torch's shared objects name in DT_NEEDED and that is not on this system, this
builds a tiny library with that SONAME, the same symbol version node (CUDA
libraries version their symbols by SONAME, and glibc checks it) and one
function per symbol torch imports from it. Every stub function returns 100,
which is cudaErrorNoDevice / CUDA_ERROR_NO_DEVICE, so torch takes the
"no GPU here" path: torch.cuda.is_available() is False. The few functions
whose callers format an error message return a string instead.

The stubs go into torch/lib, which is on the RPATH ($ORIGIN) of every torch
library, so nothing has to be set in the environment.

  python cuda_stubs.py TORCH_PACKAGE_DIR     (e.g. .../site-packages/torch)

Needs gcc and readelf (binutils). Prints what it built, one line per library.
"""
import os
import re
import subprocess
import sys
import tempfile

# Functions returning const char* (a stub returning 100 there would crash the
# caller that prints the message).
STRING_RETURN = re.compile(r'^(cuda|nccl|cublas|cublasLt|cudnn|cusparse|cusparseLt|cusolver|nvrtc|cufft)\w*(ErrorString|ErrorName|StatusString|StatusName)$|^ncclGetLastError$')
# Driver/CUPTI style: fn(code, const char **out) -> status; fill *out.
STRING_OUT = re.compile(r'^(cuGetErrorString|cuGetErrorName|cuptiGetResultString)$')
MESSAGE = 'CUDA is not available: this torch runs with CPU-only stub CUDA libraries'


def readelf(*args):
    return subprocess.run(['readelf', '-W', *args], check=True, capture_output=True, text=True).stdout


def needed(path):
    return re.findall(r'\(NEEDED\)\s+Shared library: \[([^\]]+)\]', readelf('-d', path))


def version_needs(path):
    """{version name: file} from the .gnu.version_r section."""
    out, current = {}, None
    for line in readelf('-V', path).splitlines():
        m = re.search(r'Version: \d+\s+File: (\S+)', line)
        if m:
            current = m.group(1)
            continue
        m = re.search(r'Name: (\S+)\s+Flags', line)
        if m and current:
            out[m.group(1)] = current
    return out


def dyn_symbols(path):
    """(name, version or None, undefined, weak) for each dynamic symbol."""
    out = []
    for line in readelf('--dyn-syms', path).splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].rstrip(':').isdigit():
            continue
        name, _, version = f[7].partition('@')
        out.append((name, version.lstrip('@').split(' ')[0] or None, f[6] == 'UND', f[4] == 'WEAK'))
    return out


def system_libraries():
    cache = {}
    for line in subprocess.run(['ldconfig', '-p'], check=True, capture_output=True, text=True).stdout.splitlines():
        m = re.match(r'\s*(\S+) \(([^)]*)\) => (\S+)', line)
        if m and 'x86-64' in m.group(2):
            cache.setdefault(m.group(1), m.group(3))
    return cache


def main():
    torch_dir = os.path.abspath(sys.argv[1])
    lib_dir = os.path.join(torch_dir, 'lib')
    listing = os.path.join(lib_dir, 'CUDA_STUBS.txt')
    # Stubs from an earlier run are rebuilt, not mistaken for torch's own libraries.
    earlier = set(open(listing).read().split()[1:]) if os.path.exists(listing) else set()
    objects = []
    for root, _, files in os.walk(torch_dir):
        for f in files:
            p = os.path.join(root, f)
            if f in earlier and root == lib_dir:
                continue
            if re.search(r'\.so(\.\d+)*$', f) and not os.path.islink(p) and open(p, 'rb').read(4) == b'\x7fELF':
                objects.append(p)
    own = {os.path.basename(p) for p in objects}
    system = system_libraries()
    missing = set()
    for p in objects:
        for n in needed(p):
            if n not in own and n not in system:
                missing.add(n)
    if not missing:
        print('cuda stubs: none needed (this torch links no CUDA library absent here)')
        return

    # Everything the process can already resolve: torch itself, the system
    # libraries torch names, and what the running interpreter has loaded.
    defined = set()
    sources = set(objects)
    for p in objects:
        sources.update(system[n] for n in needed(p) if n in system)
    with open('/proc/self/maps') as maps:
        sources.update(l.split()[-1] for l in maps if '.so' in l and l.split()[-1].startswith('/'))
    for p in sources:
        defined.update(name for name, _, und, _ in dyn_symbols(p) if not und)

    # {library: {version node: symbols}}; most CUDA libraries name their node
    # after their SONAME, nvshmem calls it NVSHMEM.
    versioned = {n: {} for n in missing}
    loose = set()  # unversioned imports (nccl, cuSPARSELt, cuFile, the driver API)
    for p in objects:
        if not set(needed(p)) & missing:
            continue
        owners = version_needs(p)
        for name, version, und, weak in dyn_symbols(p):
            if not und or weak:
                continue
            if owners.get(version) in missing:
                versioned[owners[version]].setdefault(version, set()).add(name)
            elif version is None and name not in defined:
                loose.add(name)

    with tempfile.TemporaryDirectory() as tmp:
        for soname in sorted(missing):
            nodes = versioned[soname] or {soname: set()}
            names = sorted(set().union(*nodes.values()) | loose)
            c = [f'static const char message[] = "{MESSAGE}";']
            for n in names:
                if STRING_RETURN.match(n):
                    c.append(f'const char *{n}(void) {{ return message; }}')
                elif STRING_OUT.match(n):
                    c.append(f'int {n}(int code, const char **out) {{ (void)code; if (out) *out = message; return 0; }}')
                else:
                    c.append(f'int {n}(void) {{ return 100; }}')
            src = os.path.join(tmp, soname + '.c')
            script = os.path.join(tmp, soname + '.map')
            with open(src, 'w') as f:
                f.write('\n'.join(c) + '\n')
            with open(script, 'w') as f:
                # Unversioned imports also bind to a default-version definition,
                # so the loose names go into the first node.
                for i, (node, members) in enumerate(sorted(nodes.items())):
                    members = sorted(members | loose) if i == 0 else sorted(members)
                    f.write(f'{node} {{ global: ' + ' '.join(f'{n};' for n in members) + (' local: *;' if i == 0 else '') + ' };\n')
            subprocess.run(['gcc', '-shared', '-fPIC', '-O1', '-w', f'-Wl,-soname,{soname}', f'-Wl,--version-script={script}',
                            '-o', os.path.join(lib_dir, soname), src], check=True)
            print(f'cuda stubs: {soname} ({len(names) - len(loose)} versioned + {len(loose)} unversioned symbols)')
        with open(listing, 'w') as f:
            f.write('CPU-only-stubs: ' + '\n'.join(sorted(missing)) + '\n')


if __name__ == '__main__':
    main()
