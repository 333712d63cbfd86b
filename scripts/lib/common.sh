# Shared shell functions of the project's scripts: package installation, build, and a
# local PostgreSQL 15 started with initdb/pg_ctl (no system service is touched).
# Sourced by scripts/test.sh, scripts/run.sh and scripts/fuzz.sh; expects ROOT to be the
# repository root.

PG_BIN=/usr/lib/postgresql/15/bin
APT_PACKAGES=(cmake ninja-build g++ pkg-config curl libpqxx-dev libpistache-dev rapidjson-dev
  libspdlog-dev libgflags-dev libcurl4-openssl-dev libssl-dev postgresql-15 libgtest-dev
  libgmock-dev libbenchmark-dev)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Installs the Debian packages the project needs, only those missing (idempotent).
ensure_packages() {
  ensure_apt_packages "${APT_PACKAGES[@]}"
}

# ensure_apt_packages PACKAGE...: installs those of the given packages that are missing.
ensure_apt_packages() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# build_project BUILD_DIR [cmake args...]: configures (first time) and builds with -j2.
build_project() {
  local build_dir=$1
  shift
  cmake -S "$ROOT" -B "$build_dir" -G Ninja "$@" >/dev/null
  cmake --build "$build_dir" -j2
}

# Runs a PostgreSQL binary as an unprivileged owner when we are root.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# pg_start DATA_DIR PORT [SETTING=VALUE...]: initialises DATA_DIR on first use, then starts
# the server on 127.0.0.1:PORT with its socket in DATA_DIR and the extra settings given.
# Durable settings stay on (fsync, sync commit).
pg_start() {
  local data_dir=$1 port=$2
  shift 2
  local extra="" setting
  for setting in "$@"; do extra+=" -c $setting"; done
  mkdir -p "$data_dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$data_dir"; fi
  chmod 700 "$data_dir"
  if [ ! -f "$data_dir/PG_VERSION" ]; then
    # Locale C: identifiers (accounts, keys) compare bytewise, the fast path of text comparison.
    pg_as_owner "$PG_BIN/initdb" -D "$data_dir" -A trust -U postgres -E UTF8 --locale=C >/dev/null
  fi
  pg_as_owner "$PG_BIN/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -w -t 60 \
    -o "-p $port -k $data_dir -c listen_addresses=127.0.0.1 -c max_connections=300$extra" \
    start >/dev/null
}

pg_stop() {
  local data_dir=$1
  [ -f "$data_dir/postmaster.pid" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null 2>&1 || true
}
