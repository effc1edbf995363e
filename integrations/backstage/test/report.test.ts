import type { Finding } from '../src/client';
import { findingLines, logSafe, summaryLine } from '../src/report';

const INJECTIONS = ['\n::error::pwned', '\r\n::add-mask::secret', '\u001b[2J\u001b[31mred', 'a\u2028b\u202e'];

function finding(text: string): Finding {
  return {
    check: 'CATALOG-OWNER-GROUP',
    title: 't',
    severity: 'medium',
    action: 'waived',
    message: `owned by user:jdoe${text}`,
    subject: { kind: 'catalog', path: `catalog${text}.yaml`, ref: `component:x${text}`, line: 3 },
    remediation: `fix${text}`,
    waiver: { id: `W-1${text}`, owner: `team${text}`, expires: '2027-01-01' },
  };
}

function clean(line: string): void {
  expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  expect(line.trimStart().startsWith('::')).toBe(false);
}

describe('logSafe', () => {
  it('shows control characters and a leading workflow command as escapes', () => {
    expect(logSafe('a\n::error::x')).toBe('a\\x0a::error::x');
    expect(logSafe('  ::warning::y')).toBe('  \\x3a:warning::y');
    expect(logSafe('\u001b[31mred\u202e')).toBe('\\x1b[31mred\\u202e');
    expect(logSafe('a::b, ünïcode ✓')).toBe('a::b, ünïcode ✓');
  });

  it.each(INJECTIONS)('keeps every step-log line of a finding on its own line (%j)', text => {
    const { line, fix } = findingLines(finding(text));
    clean(line);
    clean(fix ?? '');
    expect(line).toContain('jdoe');
  });

  it('escapes the summary line', () => {
    const line = summaryLine({
      outcome: 'warn',
      environment: 'dev\n::error::x',
      findings: [],
      summary: { block: 0, warn: 0, waived: 0 },
      audit: null,
      error: undefined,
    } as unknown as Parameters<typeof summaryLine>[0]);
    clean(line);
  });
});
