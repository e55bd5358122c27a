package psftp

// #include <psftp.h>
import "C"

import (
	"fmt"
	"math"
	"net"
	"runtime/cgo"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config is everything pysftp's Connection() and CnOpts take besides the
// host. The zero value connects to port 22 as the current user, tries
// ~/.ssh/id_* keys and then ssh-agent, and checks the host key against
// ~/.ssh/known_hosts.
type Config struct {
	Port     int    // 0 means 22 (or ssh_config's Port, with SSHConfig)
	User     string // "" means $LOGNAME, then $USER, then the password database
	Password string // tried first when given, as pysftp does

	KeyFile    string // private key file (OpenSSH or PEM; ~ expanded)
	KeyData    []byte // a private key's contents (OpenSSH or PEM), instead of KeyFile; offered to jump hosts too
	Passphrase string // of an encrypted KeyFile or KeyData
	Agent      bool   // authenticate with ssh-agent ($SSH_AUTH_SOCK) keys
	AgentKey   string // only the agent key with this comment or SHA256 fingerprint (implies Agent)

	KnownHosts            string   // known_hosts file; "" means ~/.ssh/known_hosts
	ExtraKnownHosts       []string // more known_hosts files merged in (pysftp cnopts.hostkeys.load)
	InsecureIgnoreHostKey bool     // no host-key check at all (pysftp hostkeys = None; NOT ADVISED)
	AcceptNewHostKeys     bool     // trust on first use: record an unknown host's key; a changed key is still refused
	// HostKeyCallback, when set, decides about a host key known_hosts does
	// not vouch for (unknown or changed) instead of refusing it (and
	// instead of AcceptNewHostKeys for unknown ones). Matching keys never
	// reach it; with InsecureIgnoreHostKey nothing does. It runs on the
	// goroutine calling Dial, during Dial only. A panic in it rejects the
	// key and is raised again from Dial once psftp has returned.
	HostKeyCallback HostKeyCallback

	Ciphers     []string // preference list, e.g. "aes128-gcm@openssh.com"; empty keeps libssh2's order
	Compression bool     // offer zlib compression

	ConnectTimeout time.Duration // resolution, TCP connect, handshake and auth in total; 0 means psftp's 30 s, negative means no limit
	Timeout        time.Duration // longest wait of any later read or write; 0 means no limit (pysftp timeout)
	// StallTimeout ends a call whose bytes stop moving for this long
	// (TIMEOUT); 0 means psftp's 60 s, negative means no limit.
	StallTimeout      time.Duration
	Keepalive         time.Duration // keepalive asking for a reply after this much silence (ServerAliveInterval); 0 means never
	KeepaliveCountMax int           // a server silent for Keepalive x this is lost (ServerAliveCountMax); 0 means psftp's 3
	// CancelGrace is how long a call whose context is done may take to
	// stop by itself (at its next progress step, keeping the Conn usable)
	// before the binding interrupts the connection (Conn.Interrupt), which
	// ends a call blocked on the network at once but leaves the Conn
	// unusable. 0 means DefaultCancelGrace; negative means never interrupt.
	CancelGrace time.Duration

	Log     bool   // log the session, to LogFile or else to a new temporary file (Conn.Logfile)
	LogFile string // log to this file (implies Log)

	DefaultPath string // remote directory to change to after connecting

	// Connecting wherever ssh connects (off unless set).

	SSHConfig     bool   // read ~/.ssh/config and /etc/ssh/ssh_config: host may be a Host alias; explicit fields win
	SSHConfigFile string // read this file only, as ssh -F (implies SSHConfig)
	ProxyJump     string // jump hosts, as ssh -J: "user@host:port,host2"; "none" ignores ssh_config's
	ProxyCommand  string // a command carrying the connection on stdin/stdout (%h %p %r tokens)
	// NetConn, when set, carries the connection: a stream socket the
	// application connected (net.Dial, a SOCKS dialer) to the server or
	// first jump host. The binding takes its descriptor through
	// syscall.Conn, so a conn without one (net.Pipe, a *tls.Conn or
	// another wrapper) fails Dial with ErrInvalidArg. psftp duplicates the
	// descriptor during Dial; the caller keeps and closes NetConn, and
	// must not read from or write to it meanwhile.
	NetConn net.Conn
	// KeyboardInteractive answers the prompts of keyboard-interactive
	// authentication (a one-time code, a PAM conversation), for the
	// server and jump hosts. Prompts it leaves unanswered (a shorter or
	// nil slice) get Password. An error gives up: Dial returns it. It runs
	// on the goroutine calling Dial, during Dial only.
	KeyboardInteractive KeyboardInteractive
}

// KeyboardInteractive answers one keyboard-interactive round with one
// answer per question, in order.
type KeyboardInteractive func(req KeyboardInteractiveRequest) ([]string, error)

// KeyboardInteractiveRequest is one keyboard-interactive round: who asks
// (the server, or a jump host: each hop authenticates on its own) and
// what. Name, Instruction, Questions and Echos are the arguments of
// golang.org/x/crypto/ssh.KeyboardInteractiveChallenge, so such a function
// adapts in one line.
type KeyboardInteractiveRequest struct {
	Host string // the endpoint asking, as psftp connects to it
	Port int
	User string // the user it authenticates as

	Name        string   // the server's name for the exchange (often empty)
	Instruction string   // the server's instruction text (often empty)
	Questions   []string // the prompts, in the server's order
	Echos       []bool   // whether each answer may be shown as typed (false for secrets)
}

// SSHConfigReport is what Dial(host, cfg) would use, as `ssh -G host`
// prints it: one "keyword value" line each, then "#" lines naming the
// config files, jump hosts and anything psftp cannot honour.
func SSHConfigReport(host string, cfg Config) (string, error) {
	opts, err := cfg.newCnOpts()
	if err != nil {
		return "", err
	}
	defer C.psftp_cnopts_free(opts)
	var a cArgs
	defer a.free()
	h := a.str("host", host)
	var out *C.char
	if err := call(&a, func() C.int { return C.psftp_cnopts_ssh_config_report(opts, h, &out) }); err != nil {
		return "", err
	}
	defer C.psftp_string_free(out)
	return C.GoString(out), nil
}

// Dial connects and authenticates (pysftp Connection(host, ...)).
func Dial(host string, cfg Config) (*Conn, error) {
	opts, err := cfg.newCnOpts()
	if err != nil {
		return nil, err
	}
	defer C.psftp_cnopts_free(opts)
	key, err := cfg.privateKey()
	if err != nil {
		return nil, err
	}
	co, err := cfg.newConnectOpts(host, key)
	if err != nil {
		return nil, err
	}
	defer C.psftp_connect_opts_free(co)
	var a cArgs
	var conn *C.psftp_conn
	connect := func() C.int {
		// The connect options copy the CnOpts now, with the host-key
		// callback installed.
		if rc := C.psftp_connect_opts_set_cnopts(co, opts); rc != C.PSFTP_OK {
			return rc
		}
		return C.psftp_connect_with(co, &conn, nil)
	}
	if cfg.HostKeyCallback == nil && cfg.KeyboardInteractive == nil {
		err = call(&a, connect)
	} else {
		err = dialWithCallbacks(&a, opts, co, &cfg, connect)
	}
	if err != nil {
		return nil, err
	}
	return newConn(conn, cfg.CancelGrace), nil
}

// dialWithCallbacks makes the psftp_connect_with call connect with cfg's
// host-key callback installed on opts and its keyboard-interactive
// callback on co, each through a runtime/cgo.Handle that psftp releases
// (its finalizer) once neither the options nor the connection need it.
// psftp calls each one connect at a time. A panic in one is raised again
// once connect has returned (the panic made the callback reject the key
// or give up, so no connection was made); an error from
// KeyboardInteractive is returned.
func dialWithCallbacks(a *cArgs, opts *C.psftp_cnopts, co *C.psftp_connect_opts, cfg *Config, connect func() C.int) error {
	s := &callbackState{hostKey: cfg.HostKeyCallback, kbdInt: cfg.KeyboardInteractive}
	if s.hostKey != nil {
		h := cgo.NewHandle(s)
		storedHandles.Add(1)
		if err := call(a, func() C.int {
			return C.psftp_cnopts_set_hostkey_callback(opts, cHostKey, userData(C.uintptr_t(h)), cRelease)
		}); err != nil {
			return err
		}
	}
	if s.kbdInt != nil {
		h := cgo.NewHandle(s)
		storedHandles.Add(1)
		if err := call(a, func() C.int {
			return C.psftp_connect_opts_set_kbdint_callback(co, cKbdInt, userData(C.uintptr_t(h)), cRelease)
		}); err != nil {
			return err
		}
	}
	err := call(a, connect)
	if s.panicked {
		panic(s.panicVal)
	}
	if s.stopErr != nil {
		return s.stopErr
	}
	return err
}

// HostKeyStatus is why a HostKeyCallback is asked.
type HostKeyStatus int

const (
	HostKeyStatusUnknown HostKeyStatus = C.PSFTP_HOSTKEY_STATUS_UNKNOWN // known_hosts has no key for the host
	HostKeyStatusChanged HostKeyStatus = C.PSFTP_HOSTKEY_STATUS_CHANGED // known_hosts holds a different key
)

func (s HostKeyStatus) String() string {
	switch s {
	case HostKeyStatusUnknown:
		return "unknown"
	case HostKeyStatusChanged:
		return "changed"
	}
	return "HostKeyStatus(" + strconv.Itoa(int(s)) + ")"
}

// HostKeyDecision is a HostKeyCallback's answer.
type HostKeyDecision int

const (
	// HostKeyReject refuses the key: Dial fails with ErrHostKeyUnknown or
	// ErrHostKeyMismatch. Any value other than the two below rejects too.
	HostKeyReject HostKeyDecision = C.PSFTP_HOSTKEY_REJECT
	// HostKeyAccept trusts the key for this connection only.
	HostKeyAccept HostKeyDecision = C.PSFTP_HOSTKEY_ACCEPT
	// HostKeyAcceptAndSave trusts the key and appends it to the first
	// known_hosts file (Config.KnownHosts), atomically, never twice.
	HostKeyAcceptAndSave HostKeyDecision = C.PSFTP_HOSTKEY_ACCEPT_AND_SAVE
)

// HostKeyCallback decides about a host key known_hosts does not vouch for:
// host and port as Dial was given them, the key the server offered, and
// why it is asked. See Config.HostKeyCallback.
type HostKeyCallback func(host string, port int, key HostKey, status HostKeyStatus) HostKeyDecision

// newConnectOpts builds the C connect options (all but the CnOpts) from
// cfg; free them with psftp_connect_opts_free.
func (cfg *Config) newConnectOpts(host, key string) (*C.psftp_connect_opts, error) {
	port, err := cInt("Port", cfg.Port)
	if err != nil {
		return nil, err
	}
	var a cArgs
	defer a.free()
	h := a.str("host", host)
	var co *C.psftp_connect_opts
	if err := call(&a, func() C.int { return C.psftp_connect_opts_new(h, &co) }); err != nil {
		return nil, err
	}
	u, pw := a.optStr("User", cfg.User), a.optStr("Password", cfg.Password)
	k, pass := a.optStr("KeyFile", key), a.optStr("Passphrase", cfg.Passphrase)
	data, dp := a.secret(cfg.KeyData), a.optStr("DefaultPath", cfg.DefaultPath)
	setters := []func() C.int{
		func() C.int { return C.psftp_connect_opts_set_port(co, port) },
		func() C.int { return C.psftp_connect_opts_set_username(co, u) },
		func() C.int { return C.psftp_connect_opts_set_password(co, pw) },
		func() C.int { return C.psftp_connect_opts_set_private_key(co, k, pass) },
		func() C.int { return C.psftp_connect_opts_set_default_path(co, dp) },
	}
	if data != nil {
		n := C.size_t(len(cfg.KeyData))
		setters = append(setters, func() C.int { return C.psftp_connect_opts_set_private_key_data(co, data, n, pass) })
	}
	for _, set := range setters {
		if err := call(&a, set); err != nil {
			C.psftp_connect_opts_free(co)
			return nil, err
		}
	}
	if cfg.NetConn != nil {
		if err := setSocket(&a, co, cfg.NetConn); err != nil {
			C.psftp_connect_opts_free(co)
			return nil, err
		}
	}
	return co, nil
}

// privateKey is psftp_connect's private_key: a file, "agent" or
// "agent:NAME".
func (cfg *Config) privateKey() (string, error) {
	agent := cfg.Agent || cfg.AgentKey != ""
	switch {
	case len(cfg.KeyData) > 0 && (agent || cfg.KeyFile != ""):
		return "", invalidArg("KeyData", "set together with KeyFile or Agent/AgentKey; use one")
	case agent && cfg.KeyFile != "":
		return "", invalidArg("KeyFile", "set together with Agent/AgentKey; use one")
	case cfg.AgentKey != "":
		return "agent:" + cfg.AgentKey, nil
	case agent:
		return "agent", nil
	}
	return cfg.KeyFile, nil
}

// newCnOpts builds the C options (pysftp CnOpts) from cfg; free them with
// psftp_cnopts_free.
func (cfg *Config) newCnOpts() (*C.psftp_cnopts, error) {
	// psftp's setters replace each other; fields set together are a
	// mistake to report, not a choice to make silently.
	if cfg.ProxyJump != "" && cfg.ProxyCommand != "" {
		return nil, invalidArg("ProxyJump", "set together with ProxyCommand; use one")
	}
	var a cArgs
	defer a.free()
	kh := a.optStr("KnownHosts", cfg.KnownHosts)
	var opts *C.psftp_cnopts
	if err := call(&a, func() C.int { return C.psftp_cnopts_new(kh, &opts) }); err != nil {
		return nil, err
	}
	for _, set := range cfg.cnOptSetters(&a) {
		if err := call(&a, func() C.int { return set(opts) }); err != nil {
			C.psftp_cnopts_free(opts)
			return nil, err
		}
	}
	return opts, nil
}

// cnOptSetters are the psftp_cnopts_* calls cfg asks for, in an order
// that works: files are loaded before checking may be turned off.
func (cfg *Config) cnOptSetters(a *cArgs) []func(*C.psftp_cnopts) C.int {
	var s []func(*C.psftp_cnopts) C.int
	for _, f := range cfg.ExtraKnownHosts {
		p := a.str("ExtraKnownHosts", f)
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_load(o, p) })
	}
	if cfg.InsecureIgnoreHostKey {
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_hostkeys(o, nil) })
	}
	if cfg.AcceptNewHostKeys {
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_accept_new(o, true) })
	}
	if cfg.Log || cfg.LogFile != "" {
		p := a.optStr("LogFile", cfg.LogFile)
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_log(o, true, p) })
	}
	if cfg.Compression {
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_compression(o, true) })
	}
	if len(cfg.Ciphers) > 0 {
		p := a.str("Ciphers", strings.Join(cfg.Ciphers, ","))
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_ciphers(o, p) })
	}
	if cfg.ConnectTimeout != 0 {
		secs := C.double(max(cfg.ConnectTimeout.Seconds(), 0)) // C: 0 waits forever
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_connect_timeout(o, secs) })
	}
	if cfg.Timeout != 0 {
		secs := C.double(cfg.Timeout.Seconds())
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_timeout(o, secs) })
	}
	if cfg.StallTimeout != 0 {
		secs := C.double(max(cfg.StallTimeout.Seconds(), 0)) // C: 0 turns it off
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_stall_timeout(o, secs) })
	}
	if cfg.Keepalive != 0 {
		secs := C.int(math.Ceil(min(cfg.Keepalive.Seconds(), math.MaxInt32)))
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_keepalive(o, secs) })
	}
	if cfg.KeepaliveCountMax != 0 {
		n := C.int(min(cfg.KeepaliveCountMax, math.MaxInt32))
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_keepalive_count_max(o, n) })
	}
	return append(s, cfg.routeSetters(a)...)
}

// routeSetters are the ssh_config and proxy calls.
func (cfg *Config) routeSetters(a *cArgs) []func(*C.psftp_cnopts) C.int {
	var s []func(*C.psftp_cnopts) C.int
	if cfg.SSHConfig || cfg.SSHConfigFile != "" {
		p := a.optStr("SSHConfigFile", cfg.SSHConfigFile)
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_ssh_config(o, true, p) })
	}
	if cfg.ProxyJump != "" {
		p := a.str("ProxyJump", cfg.ProxyJump)
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_proxy_jump(o, p) })
	}
	if cfg.ProxyCommand != "" {
		p := a.str("ProxyCommand", cfg.ProxyCommand)
		s = append(s, func(o *C.psftp_cnopts) C.int { return C.psftp_cnopts_set_proxy_command(o, p) })
	}
	return s
}

// setSocket hands psftp the descriptor behind nc, which psftp duplicates
// (inside Control, while the descriptor is sure to be open).
func setSocket(a *cArgs, co *C.psftp_connect_opts, nc net.Conn) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return invalidArg("NetConn", fmt.Sprintf("a %T has no file descriptor; give the socket itself "+
			"(a *net.TCPConn or *net.UnixConn), not net.Pipe or a wrapper such as *tls.Conn", nc))
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return invalidArg("NetConn", err.Error())
	}
	var set error
	if err := raw.Control(func(fd uintptr) {
		set = call(a, func() C.int { return C.psftp_connect_opts_set_socket(co, C.int(fd)) })
	}); err != nil {
		return invalidArg("NetConn", err.Error()) // closed
	}
	return set
}

// HostKey is an SSH host key: its type ("ssh-ed25519"), the base64 blob as
// known_hosts holds it, and the OpenSSH SHA256 fingerprint.
type HostKey struct {
	Type        string
	Base64      string
	Fingerprint string
}

func takeHostKey(k *C.psftp_hostkey) HostKey {
	defer C.psftp_hostkey_free(k)
	return hostKeyValues(k)
}

// hostKeyValues copies a host key without freeing it.
func hostKeyValues(k *C.psftp_hostkey) HostKey {
	return HostKey{
		Type:        C.GoString(k.key_type),
		Base64:      C.GoString(k.base64),
		Fingerprint: C.GoString(k.fingerprint),
	}
}

// GetHostkey is pysftp cnopts.get_hostkey(host): the first key cfg's
// known_hosts files hold for host (write "[host]:port" for a port other
// than 22). ErrHostKeyUnknown when there is none.
func (cfg Config) GetHostkey(host string) (HostKey, error) {
	opts, err := cfg.newCnOpts()
	if err != nil {
		return HostKey{}, err
	}
	defer C.psftp_cnopts_free(opts)
	var a cArgs
	defer a.free()
	h := a.str("host", host)
	var key *C.psftp_hostkey
	if err := call(&a, func() C.int { return C.psftp_cnopts_get_hostkey(opts, h, &key) }); err != nil {
		return HostKey{}, err
	}
	return takeHostKey(key), nil
}

// cInt converts an int for a C int parameter, refusing what would wrap.
func cInt(param string, v int) (C.int, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, invalidArg(param, "is out of range")
	}
	return C.int(v), nil
}
