/** Every `trellis` subcommand, in the order `trellis --help` lists them. */
import type { Command } from '../command.ts';

export const COMMANDS: Command[] = [];
