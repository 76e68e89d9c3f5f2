/**
 * Payload templates (`"key.$": "$.path"`, `"$$.Map.Item.Value"`, intrinsic functions) evaluated outside a running state,
 * for the fields the runner serves itself (a distributed Map's ItemSelector, BatchInput, ItemReader and ResultWriter
 * Parameters). Plain paths are read directly (thousands of items a second); anything else (intrinsic functions,
 * filters) goes through aws-local-stepfunctions as a one-state Pass, so its semantics are the interpreter's.
 */
import './polyfill';

import type * as Sfn from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };

import { isObject, readPath, UnsupportedDefinitionError } from './asl';
import { statesError } from './sfn-errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine }: typeof Sfn = require('aws-local-stepfunctions');

const PASS_MACHINES = new Map<string, Sfn.StateMachine>();

/** Evaluates `template` against `input` and the Context Object `context`. A path that selects nothing is States.Runtime. */
export async function evaluateTemplate(template: unknown, input: unknown, context: Record<string, unknown>): Promise<unknown> {
  try {
    return evaluateSimple(template, input, context);
  } catch (err) {
    if (!(err instanceof UnsupportedDefinitionError)) throw err;
  }
  const key = JSON.stringify(template);
  let machine = PASS_MACHINES.get(key);
  if (!machine) {
    machine = new StateMachine({ StartAt: 'Template', States: { Template: { Type: 'Pass', Parameters: template, End: true } } } as never);
    PASS_MACHINES.set(key, machine);
  }
  try {
    return await machine.run(input as never, { context }).result;
  } catch (err) {
    const cause = (err as { cause?: Error }).cause ?? (err as Error);
    throw statesError(cause.name && cause.name.startsWith('States.') ? cause.name : 'States.Runtime', cause.message);
  }
}

function evaluateSimple(template: unknown, input: unknown, context: Record<string, unknown>): unknown {
  if (Array.isArray(template)) return template.map((t) => evaluateSimple(t, input, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (!key.endsWith('.$')) {
      out[key] = evaluateSimple(value, input, context);
      continue;
    }
    if (typeof value !== 'string' || !value.startsWith('$')) throw new UnsupportedDefinitionError('not a plain path');
    const selected = readPath(value, input, context);
    if (selected === undefined) {
      throw statesError('States.Runtime', `The JSONPath '${value}' specified for the field '${key}' could not be found in the input `
        + `'${JSON.stringify(input)?.slice(0, 200)}'`);
    }
    out[key.slice(0, -2)] = selected;
  }
  return out;
}
