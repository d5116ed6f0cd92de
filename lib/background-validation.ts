import * as path from 'node:path';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import {
  App,
  CloudFormationValidatePlugin,
  IPolicyValidationContext,
  PolicyValidationPluginReport,
  Validations,
} from 'aws-cdk-lib';

/**
 * aws-cdk-lib's CloudFormation validation, the same plugin doing the same work, run in a worker
 * thread. Half of its cost is building its wasm engine, which needs nothing from the app: the
 * worker builds it at start-up, on the second core, while the main thread builds the stacks. At
 * validation the main thread hands over the written templates and waits for the stock plugin's own
 * report, so findings, severities and the downgrade to warnings (keyed on the plugin's name) are
 * aws-cdk-lib's. test/background-validation.test.ts compares both reports on the real templates.
 */

/** Path of the stock plugin's module: the worker loads it directly, not all of aws-cdk-lib. */
const PLUGIN_MODULE = path.join(
  path.dirname(require.resolve('aws-cdk-lib')),
  'core/lib/validation/cloudformation-validate-plugin.js',
);

/** Longest wait for the worker's answer, in ms: far above a real validation (seconds). */
const ANSWER_TIMEOUT_MS = 10 * 60 * 1000;

// Plain JS run by the worker (eval), so it needs no TypeScript loader. Every request is answered
// (report or error), then the shared flag wakes the waiting main thread.
const WORKER_SOURCE = `
const fs = require('node:fs');
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { reply, flag } = workerData;
let plugin, loadError, preparedRules;
// The engine's configuration is the list of built-in rule files for the templates' resource types:
// the engine built early is used only when that list is the same as for the real templates.
function ruleFiles(types) {
  const index = JSON.parse(fs.readFileSync(path.join(path.dirname(workerData.module), 'rules', 'index.generated.json'), 'utf-8'));
  return index.rules.filter((r) => r.types === null || r.types.some((t) => types.has(t))).map((r) => r.file).sort().join('\\n');
}
function typesIn(stackTemplates) {
  const types = new Set();
  for (const s of stackTemplates) {
    try {
      for (const r of Object.values(JSON.parse(fs.readFileSync(s.templatePath, 'utf-8')).Resources ?? {}))
        if (r && typeof r === 'object' && typeof r.Type === 'string') types.add(r.Type);
    } catch {}
  }
  return types;
}
try {
  const { CloudFormationValidatePlugin } = require(workerData.module);
  plugin = new CloudFormationValidatePlugin();
  if (typeof plugin.initializeEngine === 'function') {
    plugin.initializeEngine(new Set());
    preparedRules = ruleFiles(new Set());
  }
} catch (err) {
  loadError = err;
}
function answer(kind, stackTemplates) {
  if (loadError) throw loadError;
  if (kind === 'version') return { version: plugin.version, ruleIds: plugin.ruleIds };
  const types = typesIn(stackTemplates);
  // Same rules: let the stock plugin reuse the engine it built. Otherwise it builds a new one.
  if (preparedRules !== undefined && plugin.engineResourceTypes && ruleFiles(types) === preparedRules)
    plugin.engineResourceTypes = new Set([...plugin.engineResourceTypes, ...types]);
  const report = plugin.validate({ stackTemplates, templatePaths: stackTemplates.map((s) => s.templatePath) });
  return { report, version: plugin.version, ruleIds: plugin.ruleIds };
}
parentPort.on('message', ({ kind, stackTemplates }) => {
  let msg;
  try {
    msg = { ok: answer(kind, stackTemplates) };
  } catch (err) {
    msg = { error: { message: String(err && err.message || err), stack: err && err.stack } };
  }
  reply.postMessage(msg);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

interface Answer {
  report?: PolicyValidationPluginReport;
  version?: string;
  ruleIds?: string[];
}

/** The stock CloudFormationValidatePlugin (same name, so the CDK treats it as its own), in a worker. */
export class BackgroundCloudFormationValidatePlugin extends CloudFormationValidatePlugin {
  private readonly worker: Worker;
  private readonly reply: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private info?: Answer;

  constructor() {
    super();
    const { port1, port2 } = new MessageChannel();
    this.reply = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: PLUGIN_MODULE, reply: port2, flag: this.flag },
      transferList: [port2],
    });
    // Neither keeps the process alive once synthesis is over.
    this.worker.unref();
    this.reply.unref();
  }

  override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const stackTemplates = context.stackTemplates.map((s) => ({ ...s }));
    const answer = this.ask('validate', stackTemplates);
    return answer.report as PolicyValidationPluginReport;
  }

  // The stock getters would load the 9 MB wasm module on the main thread just to read a version.
  override get version(): string | undefined {
    return (this.info ??= this.ask('version')).version;
  }

  override get ruleIds(): string[] | undefined {
    return (this.info ??= this.ask('version')).ruleIds;
  }

  /** Sends one request and blocks until the worker answers (validation plugins are synchronous). */
  private ask(kind: 'validate' | 'version', stackTemplates?: unknown[]): Answer {
    Atomics.store(this.flag, 0, 0);
    this.worker.postMessage({ kind, stackTemplates });
    if (Atomics.wait(this.flag, 0, 0, ANSWER_TIMEOUT_MS) === 'timed-out')
      throw new Error(
        `CloudFormation validation worker gave no answer in ${ANSWER_TIMEOUT_MS / 1000} s; ` +
          'run with CDK_VALIDATION=false only to find out whether the validation itself hangs',
      );
    const msg = receiveMessageOnPort(this.reply)?.message as
      { ok: Answer; error?: undefined } | { error: { message: string; stack?: string } };
    if (!msg) throw new Error('CloudFormation validation worker answered without a message');
    if (msg.error) {
      const err = new Error(msg.error.message);
      err.stack = msg.error.stack ?? err.stack;
      throw err;
    }
    this.info = { version: msg.ok.version, ruleIds: msg.ok.ruleIds };
    return msg.ok;
  }
}

/**
 * Registers the background validation on `app` in place of the CDK's default one, under the same
 * switches: none when `CDK_VALIDATION=false` or the app has `builtinCloudFormationValidation: false`.
 * Call it first thing after `new App()` so the engine builds while the stacks do. Returns whether
 * the validation runs.
 */
export function startValidation(app: App): boolean {
  const builtin = (app as unknown as { _builtinCloudFormationValidation?: boolean })
    ._builtinCloudFormationValidation;
  if (process.env.CDK_VALIDATION === 'false' || builtin === false) return false;
  Validations.of(app).addPlugins(new BackgroundCloudFormationValidatePlugin());
  return true;
}
