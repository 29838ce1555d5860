#!/usr/bin/env bash
# Runs every Kolo test: installs what the tests need (PostgreSQL, Chromium), starts a private PostgreSQL cluster,
# builds once, runs each test project, and ends with the line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
out="$root/test-output"
rm -rf "$out" && mkdir -p "$out"

# 1. System packages. On a fresh Debian machine this runs as root; elsewhere it says what to install.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || missing+=(python3-aiosmtpd)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${missing[*]} ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || { echo "apt-get install ${missing[*]} failed"; exit 1; }
  else
    echo "Install these first: sudo apt-get install ${missing[*]}"; exit 1
  fi
fi

# 2. A throwaway PostgreSQL cluster on a free port, removed when the tests end.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdir=$(mktemp -d /tmp/kolo-pg.XXXXXX)
chmod 755 "$pgdir"
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as_pg=(runuser -u postgres --); fi
port=$((55432 + RANDOM % 1000))
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
stop_pg() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pgdir"; }
smtp_pid=""
stop_smtp() { [ -n "$smtp_pid" ] && kill "$smtp_pid" 2>/dev/null; [ -n "${KOLO_TEST_SMTP_DIR:-}" ] && rm -rf "$KOLO_TEST_SMTP_DIR"; }
trap 'stop_smtp; stop_pg' EXIT
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U kolo -A trust -E UTF8 --no-sync >"$out/initdb.log" 2>&1 \
  || { cat "$out/initdb.log"; echo "initdb failed"; exit 1; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null \
  || { cat "$pgdir/server.log"; echo "PostgreSQL did not start"; exit 1; }
export KOLO_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=kolo;Database=postgres"
export KOLO_TEST_CHROMIUM=/usr/bin/chromium

# A local SMTP server (Debian's python3-aiosmtpd) that keeps each message as a file, for the campaign e-mail tests.
smtp_port=$((25025 + RANDOM % 1000))
while (echo >"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null; do smtp_port=$((smtp_port + 1)); done
export KOLO_TEST_SMTP_DIR=$(mktemp -d /tmp/kolo-smtp.XXXXXX)
PYTHONPATH="$root/tests/smtp" /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c kolo_smtp_sink.Sink "$KOLO_TEST_SMTP_DIR" \
  >"$out/smtp.log" 2>&1 &
smtp_pid=$!
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break; sleep 0.1; done
(echo >"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null || { cat "$out/smtp.log"; echo "The test SMTP server did not start"; exit 1; }
export KOLO_TEST_SMTP_PORT=$smtp_port
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# 3. Build once, then run each test project.
dotnet build Kolo.slnx -c Release -nologo -v q >"$out/build.log" 2>&1 || { grep -E "error|Error" "$out/build.log" | head -50; echo "0 passed, 1 failed"; exit 1; }

status=0
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$out" \
    >"$out/$name.log" 2>&1 || status=1
  # Failed tests with their first message lines, then the project's totals.
  grep -E -A3 "^\s+Failed [A-Za-z0-9_.]+ \[" "$out/$name.log" | head -80
  grep -E "^\s*(Total tests|Passed|Failed|Skipped):|Test Run (Successful|Failed|Aborted)" "$out/$name.log" | tr -s ' ' | paste -sd' ' -
done

# 4. One closing line, summed over every project's results.
read -r passed failed skipped < <(cat "$out"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub(/"/, "", kv[2]); c[kv[1]] += kv[2] } }
  END { printf "%d %d %d\n", c["passed"], c["failed"] + c["error"] + c["timeout"] + c["aborted"], c["notExecuted"] }')
passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi   # a project that crashed before reporting counts as a failure
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ] && [ "$passed" -gt 0 ]
