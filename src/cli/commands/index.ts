/** Every `trellis` subcommand, in the order `trellis --help` lists them. */
import type { Command } from '../command.ts';
import { prepare } from './prepare.ts';
import { baseline } from './baseline.ts';
import { evaluate } from './evaluate.ts';
import { demo } from './demo.ts';

export const COMMANDS: Command[] = [demo, prepare, baseline, evaluate];
