import type { ClerkConfig } from '../config/index.js';
import type { FailureExample, FailureKind } from '../progress/failures.js';
import { documentChildWorkflowId, siteWorkflowId } from '../workflows/types.js';

// The Web UI's addresses, computed from the configuration alone: printing a link loads no Temporal client.

/** The Web UI's page of a workflow (its latest run), or of the namespace's workflow list. */
export function webUiUrl(config: ClerkConfig, workflowId?: string): string {
  const base = namespaceUiUrl(config);
  return workflowId ? `${base}/workflows/${encodeURIComponent(workflowId)}` : `${base}/workflows`;
}

/** The Web UI's page of one run of a workflow: it stays on that run after a newer one starts. */
export function runUiUrl(config: ClerkConfig, workflowId: string, runId: string): string {
  return `${namespaceUiUrl(config)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** The Web UI's workflow list filtered to one site (siteWorkflowsQuery): its runs and their children. */
export function siteWorkflowsUiUrl(config: ClerkConfig, subdomain: string): string {
  return `${namespaceUiUrl(config)}/workflows?query=${encodeURIComponent(siteWorkflowsQuery(subdomain))}`;
}

/**
 * The visibility query for one site's whole tree of workflows: the site workflow carries the
 * ClerkSite search attribute, and so do the document and page-batch children of newer runs. A
 * child does not inherit its parent's attributes, so the children of runs started before they were
 * given theirs are found by their ids, which start with the site workflow's.
 */
export function siteWorkflowsQuery(subdomain: string): string {
  return `ClerkSite="${subdomain}" OR WorkflowId STARTS_WITH "${siteWorkflowId(subdomain)}/"`;
}

/**
 * Where to look at one failure in the Web UI. `webUi`: a failed run's workflow. `documentWebUi`:
 * the history that holds the failed activity: for a failed page, the document's child
 * (`site/<site>/doc/<document>`), which OCRs it; for a document whose reading failed, the run that
 * read it (`readRun`: the site run, or the document's child in runs started before reads moved
 * into the site run), else the document's child. A download or a listing entry never had a
 * workflow of its own: both null.
 */
export function failureUiUrls(
  config: ClerkConfig,
  kind: FailureKind,
  example: Pick<FailureExample, 'site' | 'documentId' | 'workflowId' | 'readRun'>,
): { webUi: string | null; documentWebUi: string | null } {
  const read = (kind === 'page' || kind === 'document') && example.documentId !== null;
  const documentWebUi =
    kind === 'document' && example.readRun
      ? runUiUrl(config, example.readRun.workflowId, example.readRun.runId)
      : read
        ? webUiUrl(config, documentChildWorkflowId(example.site, example.documentId!))
        : null;
  return { webUi: example.workflowId ? webUiUrl(config, example.workflowId) : null, documentWebUi };
}

function namespaceUiUrl(config: ClerkConfig): string {
  const host = config.temporal.address.replace(/:\d+$/, '').replace('0.0.0.0', '127.0.0.1');
  return `http://${host === 'localhost' ? '127.0.0.1' : host}:${config.temporal.uiPort}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
}
