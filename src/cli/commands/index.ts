/** Every `trellis` subcommand, in the order `trellis --help` lists them. */
import type { Command } from '../command.ts';
import { prepare } from './prepare.ts';
import { baseline } from './baseline.ts';
import { evaluate } from './evaluate.ts';
import { demo } from './demo.ts';
import { train } from './train.ts';
import { recommend } from './recommend.ts';
import { graphPush } from './graph-push.ts';
import { graphPull } from './graph-pull.ts';
import { cypher } from './cypher.ts';
import { env } from './env.ts';
import { update } from './update.ts';

export const COMMANDS: Command[] = [demo, prepare, baseline, train, recommend, update, evaluate, graphPush, graphPull, cypher, env];
