#!/usr/bin/env bash
# The SFTP servers of psftp's server matrix, on free 127.0.0.1 ports.
#
#   matrix.sh install             install what the servers need (idempotent)
#   matrix.sh start DIR [NAME...] start the servers (default: all) in the
#                                 background; write DIR/NAME.env for each
#   matrix.sh stop DIR            stop every server started in DIR and remove
#                                 its accounts; nothing is left running
#   matrix.sh run DIR [NAME...]   start, then wait until SIGTERM/SIGINT, then
#                                 stop and remove DIR (a test process can own
#                                 the servers: tests/matrix.rs does so when
#                                 $PSFTP_MATRIX_DIR is not set)
#   matrix.sh names               the server names, one a line
#
# Servers: openssh (tests/fixture/sshd.sh), asyncssh and paramiko (PyPI, in
# tests/servers/.venv), pkgsftp-server and pkgsftp-request (Go
# github.com/pkg/sftp's NewServer and NewRequestServer, tests/servers/gosftp),
# proftpd (Debian's ProFTPD with mod_sftp, a virtual user of its own
# AuthUserFile: no system account) and proftpd-nosetstat (the same, refusing
# SETSTAT and FSETSTAT as managed SFTP services often do).
#
# Each server gets in DIR/NAME/ a host key made for this run, a known_hosts
# line for [127.0.0.1]:PORT, a user with a random password, a client key
# (id_ed25519) it accepts, and a served directory DIR/NAME/root (the
# OpenSSH account's home for openssh) that the tests also read on the local
# file system. DIR/NAME.env (mode 600) has, as shell assignments:
#   PSFTP_TEST_SERVER          the name
#   PSFTP_TEST_SERVER_VERSION  what runs, with its version
#   PSFTP_TEST_HOST, PSFTP_TEST_PORT, PSFTP_TEST_USER, PSFTP_TEST_PASSWORD,
#   PSFTP_TEST_KEY, PSFTP_TEST_KNOWN_HOSTS, PSFTP_TEST_DIR
#   PSFTP_TEST_ROOT            the served directory on the local file system
#   PSFTP_TEST_REMOTE_ROOT     the same directory as the server names it
#   PSFTP_TEST_HOME            = PSFTP_TEST_ROOT
# Needs root (the OpenSSH account, ProFTPD's uid switch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
venv=$here/.venv
gobin=$here/gosftp/gosftp
ALL=(openssh asyncssh paramiko pkgsftp-server pkgsftp-request proftpd proftpd-nosetstat)

die() { echo "matrix.sh: $*" >&2; exit 1; }

random_word() { # length (at most 64): lowercase hex
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-"$1"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- install
install() {
  local missing=()
  [ -x /usr/sbin/proftpd ] || missing+=(proftpd-core)
  [ -f /usr/lib/proftpd/mod_sftp.so ] || missing+=(proftpd-mod-crypto)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "matrix.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The package may start the system's own FTP daemon (where no
    # policy-rc.d forbids it): the matrix runs its own, so stop that one.
    if [ -f /run/proftpd.pid ] && kill -0 "$(cat /run/proftpd.pid)" 2>/dev/null; then
      kill "$(cat /run/proftpd.pid)" || true
    fi
  fi
  local stamp=$venv/.requirements.sha256 want
  want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "matrix.sh: creating $venv (asyncssh, paramiko)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$stamp"
  fi
  command -v go >/dev/null 2>&1 || die "go not found: the pkg/sftp servers are built with Go"
  if [ ! -x "$gobin" ] || [ -n "$(find "$here/gosftp" -newer "$gobin" \( -name '*.go' -o -name 'go.*' \))" ]; then
    echo "matrix.sh: building tests/servers/gosftp"
    (cd "$here/gosftp" && go build -trimpath -o "$gobin" .)
  fi
}

# ---------------------------------------------------------------- common
keygen() { # file type [extra args...]
  local f=$1 t=$2; shift 2
  [ -f "$f" ] || ssh-keygen -q -t "$t" -N '' -C "psftp-matrix-$t" -f "$f" "$@"
}

# A server's own files: host key, client key, password, served directory.
prepare() { # name
  local d=$DIR/$1
  mkdir -p "$d/root"
  chmod 755 "$d" "$d/root"
  keygen "$d/ssh_host_ed25519_key" ed25519
  keygen "$d/id_ed25519" ed25519
  cp "$d/id_ed25519.pub" "$d/authorized_keys"
  [ -f "$d/password" ] || (umask 077 && random_word 32 > "$d/password")
  [ -f "$d/user" ] || echo "psftp-$(random_word 8)" > "$d/user"
}

wait_port_file() { # name pidfile portfile
  local pid
  pid=$(cat "$2")
  for _ in $(seq 1 300); do
    [ -s "$3" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$DIR/$1/server.log" >&2 || true
  die "$1 did not start (see $DIR/$1/server.log)"
}

wait_listening() { # name port
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$2)))" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  cat "$DIR/$1/server.log" >&2 || true
  die "$1 is not listening on 127.0.0.1:$2 (see $DIR/$1/server.log)"
}

# Run a server in a session of its own (setsid), so that stop can end it
# and every process it forked, and nothing else. The password reaches it
# through the environment, never the command line.
launch() { # name command...
  local name=$1; shift
  stop_launched "$name" # one server per directory: a second start replaces it
  PSFTP_SERVER_PASSWORD=$(cat "$DIR/$name/password") \
    setsid "$@" >>"$DIR/$name/server.log" 2>&1 < /dev/null &
  echo $! > "$DIR/$name/pid"
}

write_env() { # name version port remote_root [local_root]
  local name=$1 d=$DIR/$1
  local local_root=${5:-$d/root}
  echo "[127.0.0.1]:$3 $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" > "$d/known_hosts"
  (umask 077 && : > "$DIR/$name.env.tmp")
  cat > "$DIR/$name.env.tmp" <<ENV
PSFTP_TEST_SERVER=$name
PSFTP_TEST_SERVER_VERSION='$2'
PSFTP_TEST_HOST=127.0.0.1
PSFTP_TEST_PORT=$3
PSFTP_TEST_USER=$(cat "$d/user")
PSFTP_TEST_PASSWORD=$(cat "$d/password")
PSFTP_TEST_KEY=$d/id_ed25519
PSFTP_TEST_KNOWN_HOSTS=$d/known_hosts
PSFTP_TEST_DIR=$d
PSFTP_TEST_ROOT=$local_root
PSFTP_TEST_REMOTE_ROOT=$4
PSFTP_TEST_HOME=$local_root
ENV
  mv "$DIR/$name.env.tmp" "$DIR/$name.env"
}

pyversion() { # module
  "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"
}

# ---------------------------------------------------------------- servers
start_openssh() {
  local d=$DIR/openssh
  stop_openssh # a second start replaces the first
  mkdir -p "$d"
  bash "$root/tests/fixture/sshd.sh" start "$d/sshd" > /dev/null
  # shellcheck disable=SC1091
  local env_file=$d/sshd/env port user password home
  port=$(sed -n 's/^PSFTP_TEST_PORT=//p' "$env_file")
  user=$(sed -n 's/^PSFTP_TEST_USER=//p' "$env_file")
  password=$(sed -n 's/^PSFTP_TEST_PASSWORD=//p' "$env_file")
  home=$(sed -n 's/^PSFTP_TEST_HOME=//p' "$env_file")
  echo "$user" > "$d/user"
  (umask 077 && echo "$password" > "$d/password")
  cp "$d/sshd/ssh_host_ed25519_key.pub" "$d/ssh_host_ed25519_key.pub"
  ln -sf sshd/id_ed25519 "$d/id_ed25519"
  write_env openssh "$(ssh -V 2>&1 | cut -d, -f1)" "$port" "$home" "$home"
}

stop_openssh() {
  [ -d "$DIR/openssh/sshd" ] && bash "$root/tests/fixture/sshd.sh" stop "$DIR/openssh/sshd" || true
}

start_python() { # name script module
  local name=$1 d=$DIR/$1
  prepare "$name"
  rm -f "$d/port"
  launch "$name" "$venv/bin/python" "$here/$2" "$d/root" "$d/ssh_host_ed25519_key" \
    "$d/authorized_keys" "$(cat "$d/user")" "$d/port"
  wait_port_file "$name" "$d/pid" "$d/port"
  write_env "$name" "$3 $(pyversion "$3")" "$(cat "$d/port")" /
}

start_asyncssh() { start_python asyncssh asyncssh_server.py asyncssh; }
start_paramiko() { start_python paramiko paramiko_server.py paramiko; }

start_gosftp() { # name mode
  local name=$1 d=$DIR/$1 version remote_root
  prepare "$name"
  rm -f "$d/port"
  launch "$name" "$gobin" -mode "$2" -root "$d/root" -host-key "$d/ssh_host_ed25519_key" \
    -authorized-keys "$d/authorized_keys" -user "$(cat "$d/user")" -port-file "$d/port"
  wait_port_file "$name" "$d/pid" "$d/port"
  version=$(sed -n 's|^\s*github.com/pkg/sftp \(v[^ ]*\).*|\1|p' "$here/gosftp/go.mod")
  if [ "$2" = server ]; then
    version="pkg/sftp $version NewServer"
    remote_root=$d/root # the real file system, starting in root
  else
    version="pkg/sftp $version NewRequestServer"
    remote_root=/ # the handler serves root as "/"
  fi
  write_env "$name" "$version" "$(cat "$d/port")" "$remote_root"
}

start_pkgsftp-server() { start_gosftp pkgsftp-server server; }
start_pkgsftp-request() { start_gosftp pkgsftp-request request; }

# ProFTPD as root (it must switch to the user's uid), its user a virtual
# one of its own AuthUserFile with a uid that no account of this machine
# has: nothing is added to /etc/passwd. DefaultRoot chroots it to root.
start_proftpd_as() { # name extra-config
  local name=$1 d=$DIR/$1 uid port user
  prepare "$name"
  user=$(cat "$d/user")
  if [ -f "$d/uid" ]; then
    uid=$(cat "$d/uid")
  else
    uid=$((200000 + 0x$(random_word 4) % 100000))
    while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
    echo "$uid" > "$d/uid"
  fi
  chown "$uid:$uid" "$d/root"
  (umask 077
   echo "$user:$(openssl passwd -6 -stdin < "$d/password"):$uid:$uid::$d/root:/bin/sh" > "$d/passwd"
   echo "$user:x:$uid:" > "$d/group")
  # mod_sftp reads authorized keys in RFC 4716 form.
  mkdir -p "$d/authorized"
  ssh-keygen -e -f "$d/id_ed25519.pub" > "$d/authorized/$user"
  keygen "$d/ssh_host_ecdsa_key" ecdsa -b 256 -m PEM
  keygen "$d/ssh_host_rsa_key" rsa -b 3072 -m PEM
  port=$(free_port)
  cat > "$d/proftpd.conf" <<CONF
ServerType standalone
DefaultServer on
ServerName "psftp matrix"
ServerIdent on "psftp matrix"
Port $port
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
UseReverseDNS off
User nobody
Group nogroup
PidFile $d/proftpd.pid
ScoreboardFile $d/proftpd.scoreboard
DelayTable none
WtmpLog off
TransferLog none
SystemLog $d/proftpd.log
MaxInstances 64
AuthOrder mod_auth_file.c
AuthUserFile $d/passwd
AuthGroupFile $d/group
RequireValidShell off
DefaultRoot ~
Umask 022
AllowOverwrite on
AllowStoreRestart on
<IfModule mod_delay.c>
  DelayEngine off
</IfModule>
<IfModule mod_dso.c>
  ModulePath /usr/lib/proftpd
  LoadModule mod_sftp.c
</IfModule>
SFTPEngine on
SFTPLog $d/sftp.log
SFTPHostKey $d/ssh_host_ed25519_key
SFTPHostKey $d/ssh_host_ecdsa_key
SFTPHostKey $d/ssh_host_rsa_key
SFTPAuthorizedUserKeys file:$d/authorized/%u
SFTPAuthMethods publickey password
MaxLoginAttempts 10
$2
CONF
  chmod 644 "$d/proftpd.conf"
  /usr/sbin/proftpd -t -c "$d/proftpd.conf" >"$d/configtest.log" 2>&1 ||
    { cat "$d/configtest.log" >&2; die "proftpd rejected $d/proftpd.conf"; }
  launch "$name" /usr/sbin/proftpd -n -q -c "$d/proftpd.conf"
  wait_listening "$name" "$port"
  local version
  version="$(/usr/sbin/proftpd -v 2>&1 | sed 's/ Version//') mod_sftp"
  [ -z "$2" ] || version="$version, SETSTAT and FSETSTAT refused"
  write_env "$name" "$version" "$port" /
}

start_proftpd() { start_proftpd_as proftpd ""; }

# The same server as managed SFTP services often run it: no SETSTAT or
# FSETSTAT (chmod, chown, utime, truncate, and the attributes of a part
# file) for the user.
start_proftpd-nosetstat() {
  start_proftpd_as proftpd-nosetstat "<Limit SETSTAT FSETSTAT>
  DenyAll
</Limit>"
}

# End a launched server and everything in its session.
stop_launched() { # name
  local f=$DIR/$1/pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

stop_all() {
  local name
  for name in "${ALL[@]}"; do
    if [ "$name" = openssh ]; then stop_openssh; else stop_launched "$name"; fi
    rm -f "$DIR/$name.env"
  done
}

start_all() { # names...
  local name names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
  for name in "${names[@]}"; do
    declare -F "start_$name" >/dev/null || die "unknown server $name (matrix.sh names lists them)"
  done
  mkdir -p "$DIR"
  chmod 755 "$DIR" # sshd reads authorized_keys as the test user; proftpd's user needs its root
  for name in "${names[@]}"; do
    "start_$name"
    echo "$name: $(sed -n "s/^PSFTP_TEST_SERVER_VERSION='\\(.*\\)'$/\\1/p" "$DIR/$name.env") on 127.0.0.1:$(sed -n 's/^PSFTP_TEST_PORT=//p' "$DIR/$name.env")"
  done
}

cmd=${1:-}
case "$cmd" in
  install) install ;;
  names) printf '%s\n' "${ALL[@]}" ;;
  start)
    DIR=${2:?usage: matrix.sh start DIR [NAME...]}
    shift 2
    # A server that fails to start takes down those started before it.
    trap 'rc=$?; [ "$rc" = 0 ] || stop_all; exit "$rc"' EXIT
    install
    start_all "$@"
    ;;
  stop)
    DIR=${2:?usage: matrix.sh stop DIR}
    stop_all
    ;;
  run)
    DIR=${2:?usage: matrix.sh run DIR [NAME...]}
    shift 2
    sleeper=
    trap '[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; stop_all; rm -rf "$DIR"' EXIT
    trap 'exit 0' TERM INT HUP
    install
    start_all "$@"
    : > "$DIR/ready"
    while :; do
      sleep 3600 &
      sleeper=$!
      wait "$sleeper" || true
    done
    ;;
  *) die "usage: matrix.sh install | names | start DIR [NAME...] | stop DIR | run DIR [NAME...]" ;;
esac
