# shellcheck shell=bash
# `scripts/db replica ...`: a streaming replica of the private cluster (sourced by scripts/db,
# which defines BASE, STATE, PGBIN, as_pg, pick_port, write_conf, is_running and friends).
#
#   scripts/db replica start    first time: pg_basebackup of the running primary (-R, WAL
#                               streamed, replication slot gridmap_replica), then start it
#                               on a port of its own as a hot standby; later: start it again
#   scripts/db replica stop     stop it (the slot keeps the primary's WAL for it meanwhile)
#   scripts/db replica status   "running on 127.0.0.1:N" (exit 0) or "stopped" (exit 3)
#   scripts/db replica url      postgresql://gridmap@127.0.0.1:<port>/gridmap (no password)
#   scripts/db replica destroy  stop it, drop its slot on the primary, delete its data
#
# Beside the primary's pgdata/: replica-pgdata/ (run by the same owner: gridmap-pg when
# root), replica.log, replica.pgpass (the replication connection's password, owned by the
# cluster owner, mode 0600; primary_conninfo names it); .gridmap/replica-port. The replica
# has the primary's durable settings (gridmap.conf written by the same function) plus
# hot_standby and hot_standby_feedback; it authenticates with scram-sha-256 over 127.0.0.1
# (pg_hba's `host replication` line).

REPLICA_SLOT=gridmap_replica

replica_paths() {
    REPLICA_DATA="$BASE/replica-pgdata"
    REPLICA_LOG="$BASE/replica.log"
    REPLICA_PASS="$BASE/replica.pgpass"
    REPLICA_PORT_FILE="$STATE/replica-port"
}

replica_running() {
    [ -f "$REPLICA_DATA/postmaster.pid" ] || return 1
    as_pg "$PGBIN/pg_ctl" status -D "$REPLICA_DATA" >/dev/null 2>&1
}

primary_psql() {
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$(running_port)" -U gridmap -d postgres "$@"
}

# The replica's gridmap.conf: the primary's settings on its own port, as a hot standby.
replica_conf() {
    local port="$1" saved="$PGDATA_DIR"
    PGDATA_DIR="$REPLICA_DATA"
    write_conf "$port"
    PGDATA_DIR="$saved"
    cat >>"$REPLICA_DATA/gridmap.conf" <<EOF
# The standby: read-only queries while it replays; its long reads hold back the primary's
# vacuum instead of being cancelled.
hot_standby = on
hot_standby_feedback = on
EOF
}

replica_basebackup() {
    local pw
    pw="$(stored_password)"
    [ -n "$pw" ] || gridmap_die "no password in $PASS_FILE"
    (umask 077 && printf '127.0.0.1:*:*:gridmap:%s\n' "$pw" >"$REPLICA_PASS")
    [ "$IS_ROOT" = 1 ] && chown "$PG_USER_SYS:" "$REPLICA_PASS"
    # A slot left by a replica deleted by hand would make -C fail.
    primary_psql -c "SELECT pg_drop_replication_slot('$REPLICA_SLOT') FROM pg_replication_slots
                     WHERE slot_name = '$REPLICA_SLOT' AND NOT active" >/dev/null
    gridmap_log "pg_basebackup of the primary into $REPLICA_DATA"
    rm -rf "$REPLICA_DATA"
    mkdir -m 700 "$REPLICA_DATA"
    touch "$REPLICA_LOG"
    [ "$IS_ROOT" = 1 ] && chown "$PG_USER_SYS:" "$REPLICA_DATA" "$REPLICA_LOG"
    if ! as_pg env PGPASSFILE="$REPLICA_PASS" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(running_port)" \
        -U gridmap -D "$REPLICA_DATA" -R -X stream -C -S "$REPLICA_SLOT" --checkpoint=fast \
        </dev/null >>"$REPLICA_LOG" 2>&1; then
        cat "$REPLICA_LOG" >&2
        rm -rf "$REPLICA_DATA"
        gridmap_die "pg_basebackup failed"
    fi
    # -R wrote standby.signal, the slot and primary_conninfo; this one adds the name the
    # primary's pg_stat_replication shows.
    printf "primary_conninfo = 'host=127.0.0.1 port=%s user=gridmap passfile=''%s'' application_name=gridmap_replica'\n" \
        "$(running_port)" "$REPLICA_PASS" | as_pg tee -a "$REPLICA_DATA/postgresql.auto.conf" >/dev/null
}

replica_start() {
    is_running || gridmap_die "the primary is not running; run scripts/db start"
    replica_running && return 0
    [ -f "$REPLICA_DATA/PG_VERSION" ] || replica_basebackup
    local port=""
    [ -f "$REPLICA_PORT_FILE" ] && port="$(cat "$REPLICA_PORT_FILE")"
    if [ -z "$port" ] || ! port_free "$port"; then
        port="$(pick_port "$(running_port)")"
    fi
    echo "$port" >"$REPLICA_PORT_FILE"
    replica_conf "$port"
    gridmap_log "starting the replica on 127.0.0.1:$port"
    if ! as_pg "$PGBIN/pg_ctl" start -D "$REPLICA_DATA" -l "$REPLICA_LOG" -w -t 120 -s </dev/null >/dev/null 2>&1 9>&-; then
        tail -n 30 "$REPLICA_LOG" >&2 || true
        gridmap_die "the replica failed to start (log: $REPLICA_LOG)"
    fi
}

replica_stop() {
    replica_running || { echo "replica not running" >&2; return 0; }
    as_pg "$PGBIN/pg_ctl" stop -D "$REPLICA_DATA" -m fast -w -s </dev/null >/dev/null 9>&-
}

replica_status() {
    if replica_running; then
        echo "replica running on 127.0.0.1:$(sed -n 4p "$REPLICA_DATA/postmaster.pid") (data: $REPLICA_DATA)"
    elif [ -f "$REPLICA_DATA/PG_VERSION" ]; then
        echo "replica stopped (data: $REPLICA_DATA)"
        return 3
    else
        echo "no replica"
        return 3
    fi
}

replica_url() {
    [ -f "$REPLICA_PORT_FILE" ] || gridmap_die "no replica; run scripts/db replica start"
    echo "postgresql://gridmap@127.0.0.1:$(cat "$REPLICA_PORT_FILE")/gridmap"
}

replica_destroy() {
    replica_stop 2>/dev/null || true
    if is_running; then
        primary_psql -c "SELECT pg_drop_replication_slot('$REPLICA_SLOT') FROM pg_replication_slots
                         WHERE slot_name = '$REPLICA_SLOT'" >/dev/null || true
    fi
    rm -rf "$REPLICA_DATA" "$REPLICA_LOG" "$REPLICA_PASS" "$REPLICA_PORT_FILE"
    echo "replica removed" >&2
}

cmd_replica() {
    [ -n "$PGBIN" ] || gridmap_die "cluster not initialised; run scripts/db start"
    replica_paths
    case "${1:-}" in
        start | stop | status | url | destroy) "replica_$1" ;;
        *) gridmap_die "usage: scripts/db replica {start|stop|status|url|destroy}" ;;
    esac
}
