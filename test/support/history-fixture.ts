/** A recorded workflow history as scripts/record-histories.ts writes it and the replay test reads it. */
export interface HistoryFixture {
  scenario: string;
  workflowType: string;
  /** Histories carry no workflow id; documentWorkflow derives its children's ids from its own. */
  workflowId: string;
  runId: string;
  events: number;
  /** Temporal's JSON form of the history (historyToJSON). */
  history: unknown;
}
