import type { Decision, Finding } from './client';

// Control characters (C0, DEL, C1), the Unicode line separators and the bidirectional controls:
// the step log would act on them (colours, cursor moves, new lines) instead of showing them.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Untrusted text (names, paths, messages come from the files under review) as one visible line:
 * every control character shown as `\xNN` / `\uNNNN`, and a leading `::` (a workflow command to
 * a CI log) as `\x3a:`.
 */
export function logSafe(text: string): string {
  const shown = text.replace(UNSAFE, ch => {
    const code = ch.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return shown.replace(/^(\s*):(?=:)/, '$1\\x3a');
}

/** Where a finding points: `path:line`, else the subject's ref or kind. */
export function location(finding: Finding): string {
  const { path, line, ref, kind } = finding.subject;
  if (path) {
    const at = line !== null && line > 0 ? `${path}:${line}` : path;
    return logSafe(ref && !path.includes(ref) ? `${at} (${ref})` : at);
  }
  return logSafe(ref ?? (kind || 'input'));
}

function oneLine(text: string): string {
  return logSafe(text.replace(/\s*\n\s*/g, ' ').trim());
}

function waiverNote(finding: Finding): string {
  const waiver = finding.waiver;
  if (waiver === null) return '';
  const parts = ['id', 'owner', 'expires']
    .map(key =>
      typeof waiver[key] === 'string'
        ? `${key === 'id' ? '' : `${key} `}${logSafe(waiver[key] as string)}`
        : '',
    )
    .filter(Boolean);
  return parts.length ? ` [waiver ${parts.join(', ')}]` : ' [waived]';
}

/**
 * The step-log lines for one finding: the finding itself in one line (action, severity, check,
 * file:line, message), then the fix.
 */
export function findingLines(finding: Finding): { line: string; fix: string | undefined } {
  const head =
    logSafe(`${finding.action.toUpperCase()} ${finding.severity} ${finding.check}`) + ` ${location(finding)}`;
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
  const env = decision.environment ? ` in ${logSafe(decision.environment)}` : '';
  return `govgate: ${logSafe(decision.outcome.toUpperCase())}${env}: ${counts}; ${logSafe(audit)}`;
}
