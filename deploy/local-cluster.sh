#!/usr/bin/env bash
# A production-shaped dsr on one machine without Docker, for tests and benchmarks: a real
# Temporal server (built from the pinned go.temporal.io/server module) on PostgreSQL,
# `dsr migrate`, N `dsr worker` and M `dsr api` processes. See deploy/README.md.
#
#   deploy/local-cluster.sh [start] [--workers N] [--apis M] [--dir DIR]
#   deploy/local-cluster.sh env     [--dir DIR]   # export lines for the running cluster
#   deploy/local-cluster.sh status  [--dir DIR]
#   deploy/local-cluster.sh stop    [--dir DIR]   # stop every process, keep the data
#   deploy/local-cluster.sh destroy [--dir DIR]   # stop, then drop the cluster's databases
#
# A re-run of start is harmless: it keeps what runs, starts what is missing (a killed
# worker, say) and reuses the settings saved in DIR/cluster.env by the first run.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "local-cluster: $*" >&2; exit 1; }
say() { echo "local-cluster: $*" >&2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TEMPLATES=$REPO/deploy/localcluster

command=start
if [[ $# -gt 0 && $1 != -* ]]; then command=$1; shift; fi
workers=2 apis=2
DIR=${LOCAL_CLUSTER_DIR:-$REPO/.local-cluster}
while [[ $# -gt 0 ]]; do
	case $1 in
	--workers) workers=${2:?--workers needs a number}; shift 2 ;;
	--apis) apis=${2:?--apis needs a number}; shift 2 ;;
	--dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "local-cluster: unknown argument $1" >&2; usage 2 ;;
	esac
done
[[ $workers =~ ^[1-9][0-9]*$ ]] || die "--workers wants a positive number, got $workers"
[[ $apis =~ ^[1-9][0-9]*$ ]] || die "--apis wants a positive number, got $apis"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
RUN=$DIR/run LOGS=$DIR/logs ENV_FILE=$DIR/cluster.env

# ---- settings -------------------------------------------------------------------------------

# The first run saves its settings; later runs take them as defaults, so a re-run without
# the same environment still finds the same databases, ports and keys. The caller's
# environment wins.
if [[ -f $ENV_FILE ]]; then
	while IFS= read -r line; do
		[[ $line == export\ * ]] || continue
		name=${line#export }
		name=${name%%=*}
		[[ -n ${!name+x} ]] || eval "$line"
	done <"$ENV_FILE"
fi

: "${LOCAL_CLUSTER_BIN:=$DIR/bin}"
: "${LOCAL_CLUSTER_PORT_BASE:=17233}"
: "${LOCAL_CLUSTER_DB_PREFIX:=dsr_local}"
: "${PGHOST:=127.0.0.1}" "${PGPORT:=5432}" "${PGUSER:=postgres}" "${PGPASSWORD:=}"
export PGHOST PGPORT PGUSER PGPASSWORD
BIN=$LOCAL_CLUSTER_BIN
base=$LOCAL_CLUSTER_PORT_BASE
prefix=$LOCAL_CLUSTER_DB_PREFIX
# Temporal keeps membership ports in a PostgreSQL smallint, so every port stays below 32768.
[[ $base =~ ^[0-9]+$ ]] && ((base > 1023 && base < 32700)) || die "LOCAL_CLUSTER_PORT_BASE must be a port between 1024 and 32699, got $base"
[[ $prefix =~ ^[a-z_][a-z0-9_]*$ ]] || die "LOCAL_CLUSTER_DB_PREFIX must be a lower-case SQL name, got $prefix"

# Ports, all on 127.0.0.1, counted from the base.
frontend_port=$base
sink_port=$((base + 9))
api_port() { echo $((base + 10 + $1 - 1)); }
temporal_db=${prefix}_temporal visibility_db=${prefix}_visibility app_db=${prefix}_app demo_db=${prefix}_demo

pg_url() { echo "postgres://${PGUSER}${PGPASSWORD:+:$PGPASSWORD}@${PGHOST}:${PGPORT}/$1?sslmode=disable"; }

# dsr's own settings (README "Configuration"); anything the caller set is kept.
: "${DATABASE_URL:=$(pg_url "$app_db")}"
: "${TEMPORAL_ADDRESS:=127.0.0.1:$frontend_port}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${DSR_PUBLIC_URL:=http://127.0.0.1:$(api_port 1)}"
: "${DSR_LOG_FORMAT:=json}"
: "${DSR_DEMO_STORE:=$(pg_url "$demo_db")}"
[[ -n ${DSR_SECRET_KEY:-} ]] || DSR_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
[[ -n ${DSR_CODEC_KEYS:-} ]] || DSR_CODEC_KEYS=local1:$(head -c32 /dev/urandom | base64 | tr -d '\n')
# Without an SMTP server of the caller's, mail goes to a sink that files it in DIR/mail.
if [[ -z ${LOCAL_CLUSTER_SMTP_SINK:-} ]]; then
	LOCAL_CLUSTER_SMTP_SINK=$([[ -z ${DSR_SMTP_HOST:-} ]] && echo on || echo off)
fi
export LOCAL_CLUSTER_SMTP_SINK
start_sink=false
if [[ $LOCAL_CLUSTER_SMTP_SINK == on ]]; then
	start_sink=true
	DSR_SMTP_HOST=127.0.0.1 DSR_SMTP_PORT=$sink_port DSR_SMTP_TLS=none
fi
export DATABASE_URL TEMPORAL_ADDRESS TEMPORAL_NAMESPACE DSR_PUBLIC_URL DSR_LOG_FORMAT DSR_DEMO_STORE \
	DSR_SECRET_KEY DSR_CODEC_KEYS DSR_SMTP_HOST
[[ -z ${DSR_SMTP_PORT:-} ]] || export DSR_SMTP_PORT
[[ -z ${DSR_SMTP_TLS:-} ]] || export DSR_SMTP_TLS
unset DSR_HTTP_ADDR # each api gets its own

# save_settings writes what a later run (and `env`) needs: the cluster's own settings and
# every dsr setting, quoted for the shell. It holds the keys, so only the owner reads it.
save_settings() {
	local urls=() i
	for ((i = 1; i <= apis; i++)); do urls+=("http://127.0.0.1:$(api_port "$i")"); done
	local IFS=,
	export LOCAL_CLUSTER_API_URLS="${urls[*]}" LOCAL_CLUSTER_BIN LOCAL_CLUSTER_PORT_BASE LOCAL_CLUSTER_DB_PREFIX
	umask 077
	{
		echo "# Written by deploy/local-cluster.sh; source it or run \`deploy/local-cluster.sh env\`."
		local name value q="'"
		while IFS= read -r name; do
			value=${!name}
			printf "export %s='%s'\n" "$name" "${value//$q/$q\\$q$q}"
		done < <(compgen -e | grep -E '^(LOCAL_CLUSTER_|DSR_|TEMPORAL_|DATABASE_URL$|PG(HOST|PORT|USER|PASSWORD)$)' |
			grep -vx LOCAL_CLUSTER_NO_BUILD | sort)
	} >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# ---- processes ------------------------------------------------------------------------------

# pid_of prints the PID of a process this cluster started, if it still runs. A PID file whose
# process is gone, or now belongs to another program, counts as not running.
pid_of() {
	local file=$RUN/$1.pid pid
	[[ -f $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	[[ $(ps -o args= -p "$pid" 2>/dev/null) == "$BIN"/* ]] || return 1
	echo "$pid"
}

# launch starts a process in the background, logging to LOGS/NAME.log, unless it runs.
launch() {
	local name=$1 pid
	shift
	if pid=$(pid_of "$name"); then
		say "$name already running (pid $pid)"
		return
	fi
	nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
	say "$name started (pid $!, log $LOGS/$name.log)"
}

# await NAME WHAT SECONDS CHECK...: runs CHECK until it succeeds, failing with the tail of
# NAME's log when NAME dies or time runs out.
await() {
	local name=$1 what=$2 seconds=$3 deadline
	shift 3
	deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if ! pid_of "$name" >/dev/null; then
			tail -n 30 "$LOGS/$name.log" >&2 || true
			die "$name exited before $what"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 30 "$LOGS/$name.log" >&2 || true
			die "$name: no $what within ${seconds}s"
		fi
		sleep 0.5
	done
}

# stop_all stops APIs first, then workers (they finish running activities), then the rest.
stop_all() {
	local group file name pid pids
	for group in api worker smtpsink temporal; do
		pids=()
		for file in "$RUN"/"$group"*.pid; do
			[[ -f $file ]] || continue
			name=$(basename "$file" .pid)
			if pid=$(pid_of "$name"); then
				kill -TERM "$pid" && pids+=("$pid")
				say "stopping $name (pid $pid)"
			fi
			rm -f "$file"
		done
		for pid in "${pids[@]}"; do
			for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
			if kill -0 "$pid" 2>/dev/null; then
				say "pid $pid did not stop within 40s; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done
	done
}

# ---- PostgreSQL -----------------------------------------------------------------------------

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d postgres -tAc "$1"; }

ensure_database() {
	if [[ -z $(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$1'") ]]; then
		psql_admin "CREATE DATABASE \"$1\"" && say "created database $1"
	fi
}

check_prerequisites() {
	command -v go >/dev/null || die "needs Go (https://go.dev/dl/); go.mod says which version"
	command -v psql >/dev/null || die "needs psql, the PostgreSQL client (apt-get install postgresql-client)"
	psql_admin "SELECT 1" >/dev/null 2>&1 ||
		die "cannot reach PostgreSQL as $PGUSER at $PGHOST:$PGPORT (set PGHOST, PGPORT, PGUSER, PGPASSWORD); the user must be allowed to create databases"
}

sql_tool() { "$BIN/temporal-sql-tool" --plugin postgres12 --ep "$PGHOST" -p "$PGPORT" -u "$PGUSER" --pw "$PGPASSWORD" "$@"; }

# setup_temporal_schema creates or brings up to date one of the server's two databases
# with the server's own SQL tool and schema files, as the server's Docker setup does.
setup_temporal_schema() {
	local db=$1 dir=$2
	ensure_database "$db"
	if [[ -z $(psql -X -d "$db" -tAc "SELECT 1 FROM pg_tables WHERE tablename = 'schema_version'") ]]; then
		sql_tool --db "$db" setup-schema -v 0.0 >>"$LOGS/schema.log" 2>&1 || { tail -n 20 "$LOGS/schema.log" >&2; die "setup-schema of $db failed"; }
	fi
	sql_tool --db "$db" update-schema -d "$dir" >>"$LOGS/schema.log" 2>&1 || { tail -n 20 "$LOGS/schema.log" >&2; die "update-schema of $db failed"; }
}

# ---- start ----------------------------------------------------------------------------------

build() {
	local b
	if [[ -n ${LOCAL_CLUSTER_NO_BUILD:-} ]]; then
		for b in temporal-server temporal-sql-tool temporal smtpsink dsr; do
			[[ -x $BIN/$b ]] || die "LOCAL_CLUSTER_NO_BUILD is set but $BIN/$b is missing"
		done
		return
	fi
	say "building temporal-server, temporal-sql-tool, temporal and dsr into $BIN (minutes on a cold cache)"
	mkdir -p "$BIN"
	(
		cd "$REPO"
		go build -o "$BIN/temporal-server" go.temporal.io/server/cmd/server
		go build -o "$BIN/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
		go build -o "$BIN/temporal" github.com/temporalio/cli/cmd/temporal
		go build -o "$BIN/smtpsink" ./deploy/localcluster/smtpsink
		go build -o "$BIN/dsr" ./cmd/dsr
	) || die "go build failed"
}

render_temporal_config() {
	local conf=$DIR/temporal/config
	mkdir -p "$conf"
	cp "$TEMPLATES/dynamicconfig.yaml" "$DIR/temporal/dynamicconfig.yaml"
	sed -e "s|@TEMPORAL_DB@|$temporal_db|; s|@VISIBILITY_DB@|$visibility_db|" \
		-e "s|@PG_HOST@|$PGHOST|; s|@PG_PORT@|$PGPORT|; s|@PG_USER@|$PGUSER|; s|@PG_PASSWORD@|$PGPASSWORD|" \
		-e "s|@FRONTEND_PORT@|$frontend_port|g; s|@FRONTEND_HTTP_PORT@|$((base + 1))|" \
		-e "s|@HISTORY_PORT@|$((base + 2))|; s|@MATCHING_PORT@|$((base + 3))|; s|@WORKER_PORT@|$((base + 4))|" \
		-e "s|@FRONTEND_MEMBERSHIP_PORT@|$((base + 5))|; s|@HISTORY_MEMBERSHIP_PORT@|$((base + 6))|" \
		-e "s|@MATCHING_MEMBERSHIP_PORT@|$((base + 7))|; s|@WORKER_MEMBERSHIP_PORT@|$((base + 8))|" \
		-e "s|@DYNAMIC_CONFIG@|$DIR/temporal/dynamicconfig.yaml|" \
		"$TEMPLATES/temporal.yaml" >"$conf/local.yaml"
	grep -v '^#' "$conf/local.yaml" | grep -q '@[A-Z_]*@' && die "unreplaced placeholder in $conf/local.yaml"
	return 0
}

temporal_cli() { "$BIN/temporal" --address "$TEMPORAL_ADDRESS" "$@"; }

# The server creates no namespace of its own, and a new one is usable only once every
# service's namespace cache has it.
ensure_namespace() {
	local out
	if ! temporal_cli operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
		# A describe fails too while a restarted server or database is still coming up; the
		# namespace may then exist already, which is what start wants.
		if out=$(temporal_cli operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention 72h 2>&1); then
			say "registered namespace $TEMPORAL_NAMESPACE"
		elif [[ $out != *"already exists"* ]]; then
			echo "$out" >&2
			die "could not register namespace $TEMPORAL_NAMESPACE"
		fi
	fi
	await temporal "namespace $TEMPORAL_NAMESPACE in use" 60 temporal_cli workflow count --namespace "$TEMPORAL_NAMESPACE"
}

ready() { curl -fsS -o /dev/null "$1/readyz"; }

start() {
	check_prerequisites
	command -v curl >/dev/null || die "needs curl, to wait for the APIs' /readyz"
	mkdir -p "$RUN" "$LOGS"
	build
	local schema_dir
	schema_dir=$(cd "$REPO" && go list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12
	setup_temporal_schema "$temporal_db" "$schema_dir/temporal/versioned"
	setup_temporal_schema "$visibility_db" "$schema_dir/visibility/versioned"
	ensure_database "$app_db"
	[[ $DSR_DEMO_STORE != "$(pg_url "$demo_db")" ]] || ensure_database "$demo_db"
	save_settings

	render_temporal_config
	launch temporal "$BIN/temporal-server" --root "$DIR/temporal" --config config --env local --allow-no-auth start
	await temporal "healthy frontend at $TEMPORAL_ADDRESS" 120 temporal_cli operator cluster health
	ensure_namespace
	if $start_sink; then
		launch smtpsink "$BIN/smtpsink" --listen "127.0.0.1:$sink_port" --dir "$DIR/mail"
	fi

	"$BIN/dsr" migrate >>"$LOGS/migrate.log" 2>&1 || { tail -n 20 "$LOGS/migrate.log" >&2; die "dsr migrate failed"; }
	# The first worker registers dsr's search attributes; the others start once it has.
	local i
	launch worker-1 "$BIN/dsr" worker
	await worker-1 "polling" 120 grep -q 'worker polling' "$LOGS/worker-1.log"
	for ((i = 2; i <= workers; i++)); do launch "worker-$i" "$BIN/dsr" worker; done
	for ((i = 1; i <= apis; i++)); do
		DSR_HTTP_ADDR=127.0.0.1:$(api_port "$i") launch "api-$i" "$BIN/dsr" api
	done
	for ((i = 1; i <= apis; i++)); do
		await "api-$i" "ready /readyz" 120 ready "http://127.0.0.1:$(api_port "$i")"
	done

	echo "Temporal:  $TEMPORAL_ADDRESS (namespace $TEMPORAL_NAMESPACE)"
	for ((i = 1; i <= apis; i++)); do echo "API:       http://127.0.0.1:$(api_port "$i")"; done
	echo "Workers:   $workers"
	echo "Database:  $DATABASE_URL"
	$start_sink && echo "Mail:      $DIR/mail (SMTP sink at 127.0.0.1:$sink_port)"
	echo "Logs:      $LOGS"
	echo "Settings:  eval \"\$($0 env --dir $DIR)\""
}

status() {
	local file name pid
	for file in "$RUN"/*.pid; do
		[[ -f $file ]] || continue
		name=$(basename "$file" .pid)
		if pid=$(pid_of "$name"); then echo "$name running (pid $pid)"; else echo "$name not running"; fi
	done
}

destroy() {
	stop_all
	check_prerequisites
	local db
	for db in "$temporal_db" "$visibility_db" "$app_db" "$demo_db"; do
		psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
	done
	say "dropped the databases ${prefix}_*"
	rm -f "$ENV_FILE"
}

case $command in
start) start ;;
env)
	[[ -f $ENV_FILE ]] || die "no cluster in $DIR: run deploy/local-cluster.sh start first"
	grep '^export ' "$ENV_FILE"
	;;
status) status ;;
stop) stop_all ;;
destroy) destroy ;;
help) usage ;;
*) echo "local-cluster: unknown command $command" >&2; usage 2 ;;
esac
