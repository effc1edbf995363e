import type { Decision, Finding } from './client';

/** Where a finding points: `path:line`, else the subject's ref or kind. */
export function location(finding: Finding): string {
  const { path, line, ref, kind } = finding.subject;
  if (path) {
    const at = line !== null && line > 0 ? `${path}:${line}` : path;
    return ref && !path.includes(ref) ? `${at} (${ref})` : at;
  }
  return ref ?? (kind || 'input');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function waiverNote(finding: Finding): string {
  const waiver = finding.waiver;
  if (waiver === null) return '';
  const parts = ['id', 'owner', 'expires']
    .map(key =>
      typeof waiver[key] === 'string' ? `${key === 'id' ? '' : `${key} `}${waiver[key] as string}` : '',
    )
    .filter(Boolean);
  return parts.length ? ` [waiver ${parts.join(', ')}]` : ' [waived]';
}

/**
 * The step-log lines for one finding: the finding itself in one line (action, severity, check,
 * file:line, message), then the fix.
 */
export function findingLines(finding: Finding): { line: string; fix: string | undefined } {
  const head = `${finding.action.toUpperCase()} ${finding.severity} ${finding.check} ${location(finding)}`;
  const line = `${head}: ${oneLine(finding.message)}${finding.action === 'waived' ? waiverNote(finding) : ''}`;
  const fix = finding.remediation ? `  fix: ${oneLine(finding.remediation)}` : undefined;
  return { line, fix };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line summing the decision up: outcome, environment, counts, audit record. */
export function summaryLine(decision: Decision): string {
  const { block, warn, waived } = decision.summary;
  const counts = `${plural(block, 'blocking finding')}, ${plural(warn, 'warning')}, ${waived} waived`;
  const audit = decision.audit
    ? `audit record ${decision.audit.record} (#${decision.audit.index})`
    : 'no audit record';
  const env = decision.environment ? ` in ${decision.environment}` : '';
  return `govgate: ${decision.outcome.toUpperCase()}${env}: ${counts}; ${audit}`;
}
