#!/usr/bin/env bash
# The gate step of the govgate GitHub Action (action.yml). The action's inputs arrive only as
# environment variables; this script turns them into one `gate check` command line, runs it and
# exits with the gate's exit code (0 pass or warn, 1 block, 2 usage or input, 3 engine or audit).
# Every input is data: quoted, split only on newlines (paths) or commas (formats), never evaluated.
#
#   INPUT_ENVIRONMENT     --env (empty: GATE_ENV, then the config, then dev)
#   INPUT_PATHS           files or folders, one per line (empty: .)
#   INPUT_CONFIG          --config (empty: see INPUT_CONFIG_FROM)
#   INPUT_CONFIG_FROM     with INPUT_CONFIG empty: default-branch (the default) reads gate.yaml, and
#                         the waivers and policies it names, from the default branch (fetched into
#                         $RUNNER_TEMP, out of reach of the change under review; built-in defaults
#                         where the branch has no gate.yaml); workspace reads ./gate.yaml as is
#   GOVGATE_DEFAULT_BRANCH  the default branch's name (github.event.repository.default_branch)
#   INPUT_TOKEN           a token that may read the repository, for that fetch
#   INPUT_CONFIG_SHA256, INPUT_POLICY_SHA256, INPUT_WAIVERS_SHA256
#                         --config-digest, --policy-digest, --waivers-digest: pins for a config,
#                         policies or waivers file that lie in the checkout
#   INPUT_FORMATS         comma list of text, json, sarif, junit, github, gitlab (default sarif,github)
#   INPUT_REPORT_DIR      where the report files go (empty: $RUNNER_TEMP/govgate)
#   INPUT_AUDIT_LOG       --audit-log (empty: GATE_AUDIT_LOG, then the config, then .gate/audit)
#   INPUT_LOG_URL         --audit-log URL: a central log (gate audit serve), instead of a folder
#   INPUT_LOG_TOKEN       the central log's token (GATE_AUDIT_TOKEN)
#   INPUT_LOG_PUB         the central log's verifier key, pinned (GATE_AUDIT_LOG_PUB)
#   INPUT_SIGNER          auto (sigstore when the job has an OIDC token, else local), local,
#                         sigstore, or none (--no-audit; refused where the environment blocks)
#   INPUT_WARN_EXIT_CODE  --warn-exit-code (empty: a warning exits 0)
#   GOVGATE_BIN           the gate executable (default: gate on PATH)
#
# Step outputs (in $GITHUB_OUTPUT): outcome and record (written by the gate's github format, else
# here from the JSON decision), sarif (the SARIF file, when asked for), report-dir.
set -euo pipefail

# A workflow command's message must not carry a raw newline (it would end the command) or `%`.
escape_data() {
  local s="$1"
  s="${s//'%'/%25}"
  s="${s//$'\r'/%0D}"
  s="${s//$'\n'/%0A}"
  printf '%s' "$s"
}

die() { # exit code, message
  printf '::error title=govgate::%s\n' "$(escape_data "$2")"
  exit "$1"
}

trim() {
  local s="$1"
  s="${s#"${s%%[![:space:]]*}"}"
  s="${s%"${s##*[![:space:]]}"}"
  printf '%s' "$s"
}

# name, value: one step output, in the delimiter form so that no value can add another output.
set_output() {
  [ -n "${GITHUB_OUTPUT:-}" ] || return 0
  local delim
  delim="govgate_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"$GITHUB_OUTPUT"
}

gate="${GOVGATE_BIN:-gate}"
if ! gate_path="$(command -v -- "$gate")"; then
  die 2 "the gate executable ($gate) was not found; the action's install step puts it in \$RUNNER_TEMP/govgate-venv"
fi
python="$(dirname -- "$gate_path")/python"
[ -x "$python" ] || python="python3"

args=(check)

environment="$(trim "${INPUT_ENVIRONMENT:-}")"
[ -z "$environment" ] || args+=(--env "$environment")

# The default branch's tree, where the change under review cannot write: its gate.yaml, or an
# empty config (built-in defaults) where it has none. Sets `config` to the config's path.
trusted_config() {
  local workspace="${GITHUB_WORKSPACE:-$PWD}" branch="${GOVGATE_DEFAULT_BRANCH:-}" dest auth=()
  dest="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/govgate-trusted"
  if [ -z "$branch" ]; then
    branch="$(git -C "$workspace" symbolic-ref --quiet --short refs/remotes/origin/HEAD 2>/dev/null || true)"
    branch="${branch#origin/}"
  fi
  [ -n "$branch" ] || die 2 "config-from: default-branch cannot tell the default branch; set config (a trusted file) or config-from: workspace with config-sha256"
  if [ -n "${INPUT_TOKEN:-}" ]; then
    auth=(-c "http.extraheader=AUTHORIZATION: basic $(printf 'x-access-token:%s' "$INPUT_TOKEN" | base64 | tr -d '\n')")
  fi
  if ! git -C "$workspace" "${auth[@]}" fetch --quiet --no-tags --depth=1 origin \
    "+refs/heads/$branch:refs/govgate/trusted" >&2; then
    die 2 "config-from: default-branch could not fetch the default branch '$branch'; check out with a token that can read it, or set config to a trusted file"
  fi
  rm -rf -- "$dest"
  mkdir -p -- "$dest/tree"
  git -C "$workspace" archive refs/govgate/trusted | tar -x -C "$dest/tree"
  if [ -f "$dest/tree/gate.yaml" ]; then
    echo "govgate: config from the default branch ($branch)" >&2
    config="$dest/tree/gate.yaml"
  else
    echo "govgate: the default branch ($branch) has no gate.yaml: built-in defaults" >&2
    printf '{}\n' >"$dest/defaults.yaml"
    config="$dest/defaults.yaml"
  fi
}

config="$(trim "${INPUT_CONFIG:-}")"
config_from="$(trim "${INPUT_CONFIG_FROM:-default-branch}")"
if [ -z "$config" ]; then
  case "$config_from" in
    default-branch | "") trusted_config ;;
    workspace) ;;
    *) die 2 "config-from: unknown source '$config_from'; use default-branch or workspace" ;;
  esac
fi
[ -z "$config" ] || args+=(--config "$config")
pin() { # flag, value
  local value
  value="$(trim "$2")"
  [ -z "$value" ] || args+=("$1" "$value")
}
pin --config-digest "${INPUT_CONFIG_SHA256:-}"
pin --policy-digest "${INPUT_POLICY_SHA256:-}"
pin --waivers-digest "${INPUT_WAIVERS_SHA256:-}"

# Reports: github goes to stdout (annotations, the job summary, step outputs), the others to files.
report_dir="$(trim "${INPUT_REPORT_DIR:-}")"
[ -n "$report_dir" ] || report_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/govgate"
mkdir -p -- "$report_dir"
report_dir="$(cd -- "$report_dir" && pwd)"
stdout_format=text
sarif_report=""
report_files=()
add_report() { # format, file name in the report folder
  report_files+=("$report_dir/$2")
  args+=(--report "$1=$report_dir/$2")
}
formats="${INPUT_FORMATS-sarif,github}"
formats="${formats//[$'\n\t ']/,}"
IFS=',' read -r -a requested <<<"$formats" || true
seen=","
for fmt in "${requested[@]}"; do
  [ -n "$fmt" ] || continue
  case "$seen" in *",$fmt,"*) continue ;; esac
  seen="$seen$fmt,"
  case "$fmt" in
    github) stdout_format=github ;;
    sarif)
      add_report sarif govgate.sarif
      sarif_report="$report_dir/govgate.sarif"
      ;;
    junit) add_report junit govgate-junit.xml ;;
    gitlab) add_report gitlab gl-code-quality-report.json ;;
    text) add_report text govgate.txt ;;
    json) ;; # always written, below
    *) die 2 "formats: unknown format '$fmt'; use a comma list of text, json, sarif, junit, github, gitlab" ;;
  esac
done
add_report json govgate.json
json_report="$report_dir/govgate.json"
args+=(--format "$stdout_format")

audit_log="$(trim "${INPUT_AUDIT_LOG:-}")"
log_url="$(trim "${INPUT_LOG_URL:-}")"
if [ -n "$log_url" ]; then
  [ -z "$audit_log" ] || die 2 "log-url and audit-log: give one of them"
  case "$log_url" in
    https://* | http://*) ;;
    *) die 2 "log-url: '$log_url' is not an https:// URL" ;;
  esac
  audit_log="$log_url"
fi
log_token="$(trim "${INPUT_LOG_TOKEN:-}")"
[ -z "$log_token" ] || export GATE_AUDIT_TOKEN="$log_token"
log_pub="$(trim "${INPUT_LOG_PUB:-}")"
[ -z "$log_pub" ] || export GATE_AUDIT_LOG_PUB="$log_pub"
signer="$(trim "${INPUT_SIGNER:-auto}")"
case "$signer" in
  "" | auto)
    if [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] && [ -n "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
      signer=sigstore
      echo "govgate: signing keyless with sigstore (the job has an OIDC token)"
    else
      signer=local
      echo "govgate: signing with a local key (no OIDC token: the job lacks 'permissions: id-token: write', or runs for a fork)"
    fi
    ;;
  local | sigstore) ;;
  none) ;;
  *) die 2 "signer: unknown signer '$signer'; use auto, local, sigstore or none" ;;
esac
if [ "$signer" = none ]; then
  args+=(--no-audit)
else
  args+=(--signer "$signer")
  [ -z "$audit_log" ] || args+=(--audit-log "$audit_log")
fi

warn_exit_code="$(trim "${INPUT_WARN_EXIT_CODE:-}")"
if [ -n "$warn_exit_code" ]; then
  if ! [[ "$warn_exit_code" =~ ^[0-9]{1,3}$ ]] || [ "$warn_exit_code" -gt 255 ]; then
    die 2 "warn-exit-code: '$warn_exit_code' is not an exit code (0-255)"
  fi
  args+=(--warn-exit-code "$warn_exit_code")
fi

# Paths: one per line, so that a path may hold spaces; `--` keeps one starting with - a path.
paths=()
while IFS= read -r line || [ -n "$line" ]; do
  line="$(trim "$line")"
  [ -z "$line" ] || paths+=("$line")
done <<<"${INPUT_PATHS:-.}"
[ "${#paths[@]}" -gt 0 ] || paths=(.)
args+=(-- "${paths[@]}")

output_size=0
if [ -n "${GITHUB_OUTPUT:-}" ] && [ -f "$GITHUB_OUTPUT" ]; then
  output_size="$(wc -c <"$GITHUB_OUTPUT")"
fi
rm -f -- "${report_files[@]}" # a report left from an earlier run must not pass for this one's

printf 'govgate: %q' "$gate"
printf ' %q' "${args[@]}"
printf '\n'
set +e
"$gate" "${args[@]}"
rc=$?
set -e

# outcome and record: the gate's github format writes them; otherwise (or when the gate stopped
# before deciding) they come from the JSON decision, else the outcome is `error`.
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  written=""
  [ ! -f "$GITHUB_OUTPUT" ] || written="$(tail -c "+$((output_size + 1))" -- "$GITHUB_OUTPUT")"
  if ! grep -Eq '^outcome(=|<<)' <<<"$written"; then
    outcome=error
    record=""
    if [ -s "$json_report" ]; then
      parsed="$("$python" - "$json_report" <<'PY'
import json
import sys

with open(sys.argv[1], encoding="utf-8") as fh:
    decision = json.load(fh)
print(decision.get("outcome") or "error", (decision.get("audit") or {}).get("record") or "")
PY
      )" || parsed=""
      read -r outcome record <<<"$parsed" || true
    fi
    set_output outcome "${outcome:-error}"
    set_output record "${record:-}"
  fi
  if [ -n "$sarif_report" ] && [ -f "$sarif_report" ]; then
    set_output sarif "$sarif_report"
  fi
  set_output report-dir "$report_dir"
fi

exit "$rc"
