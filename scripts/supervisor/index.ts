/** Restarting what died under `npm start` (scripts/run-all.ts): the public face of this folder. */
export {
  checkPolicy,
  decideRestart,
  DEFAULT_RESTART_POLICY,
  describeExit,
  NO_HISTORY,
  type ExitFacts,
  type RestartDecision,
  type RestartHistory,
  type RestartPolicy,
} from './policy.js';
export {
  createSupervisor,
  stopOnSignals,
  type ProcessSpec,
  type Supervisor,
  type SupervisorOptions,
} from './supervisor.js';
