// gosftp: an SSH server on 127.0.0.1 whose sftp subsystem is Go's
// github.com/pkg/sftp, for psftp's server matrix (tests/servers/matrix.sh).
//
//	gosftp -mode server|request -root DIR -host-key FILE -authorized-keys FILE
//	       -user NAME -port-file FILE
//
// The password comes from $PSFTP_SERVER_PASSWORD (never from the command
// line, which every user of the machine can read). The listening port is
// written to -port-file once the socket listens.
//
// -mode server:  sftp.NewServer, pkg/sftp's own server over the real file
//
//	system, starting in DIR (remote paths are local paths).
//
// -mode request: sftp.NewRequestServer with fileHandler below, a handler
//
//	backed by DIR as "/" that, like many real handlers, has no PosixRename
//	and no StatVFS: pkg/sftp still advertises posix-rename@openssh.com and
//	statvfs@openssh.com, sends posix-rename to the handler's Rename (which
//	refuses to replace an existing file, SFTP v3 semantics) and answers
//	statvfs with SSH_FX_OP_UNSUPPORTED.
package main

import (
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

func main() {
	mode := flag.String("mode", "server", "server (sftp.NewServer) or request (sftp.NewRequestServer)")
	root := flag.String("root", "", "directory to serve")
	hostKey := flag.String("host-key", "", "host private key (OpenSSH format)")
	authKeys := flag.String("authorized-keys", "", "authorized_keys file")
	user := flag.String("user", "", "the one user name accepted")
	portFile := flag.String("port-file", "", "write the listening port here")
	flag.Parse()
	password := os.Getenv("PSFTP_SERVER_PASSWORD")
	if *root == "" || *hostKey == "" || *user == "" || *portFile == "" || password == "" {
		log.Fatal("gosftp: -root, -host-key, -user, -port-file and $PSFTP_SERVER_PASSWORD are required")
	}
	if *mode != "server" && *mode != "request" {
		log.Fatalf("gosftp: unknown -mode %q", *mode)
	}
	config := serverConfig(*hostKey, *authKeys, *user, password)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("gosftp: listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	tmp := *portFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, *portFile); err != nil {
		log.Fatal(err)
	}
	log.Printf("gosftp (%s) serving %s on 127.0.0.1:%d", *mode, *root, port)
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatalf("gosftp: accept: %v", err)
		}
		go serveConn(conn, config, *mode, *root)
	}
}

func serverConfig(hostKeyFile, authKeysFile, user, password string) *ssh.ServerConfig {
	pem, err := os.ReadFile(hostKeyFile)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		log.Fatalf("gosftp: host key %s: %v", hostKeyFile, err)
	}
	authorized := map[string]bool{}
	if authKeysFile != "" {
		rest, err := os.ReadFile(authKeysFile)
		if err != nil {
			log.Fatal(err)
		}
		for len(rest) > 0 {
			key, _, _, next, err := ssh.ParseAuthorizedKey(rest)
			if err != nil {
				break
			}
			authorized[string(key.Marshal())] = true
			rest = next
		}
	}
	config := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			if c.User() == user && subtle.ConstantTimeCompare(pass, []byte(password)) == 1 {
				return nil, nil
			}
			return nil, errors.New("wrong user or password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == user && authorized[string(key.Marshal())] {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		ServerVersion: "SSH-2.0-gosftp_pkg_sftp",
	}
	config.AddHostKey(signer)
	return config
}

func serveConn(nc net.Conn, config *ssh.ServerConfig, mode, root string) {
	defer nc.Close()
	_, chans, reqs, err := ssh.NewServerConn(nc, config)
	if err != nil {
		log.Printf("gosftp: handshake from %s: %v", nc.RemoteAddr(), err)
		return
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, requests, err := nch.Accept()
		if err != nil {
			log.Printf("gosftp: accept channel: %v", err)
			continue
		}
		go serveSession(ch, requests, mode, root)
	}
}

// serveSession runs the sftp subsystem when asked; anything else (a shell,
// exec, a pty) is refused.
func serveSession(ch ssh.Channel, requests <-chan *ssh.Request, mode, root string) {
	defer ch.Close()
	for req := range requests {
		ok := req.Type == "subsystem" && len(req.Payload) >= 4 && string(req.Payload[4:]) == "sftp"
		req.Reply(ok, nil)
		if !ok {
			continue
		}
		go ssh.DiscardRequests(requests)
		var err error
		if mode == "server" {
			var s *sftp.Server
			s, err = sftp.NewServer(ch, sftp.WithServerWorkingDirectory(root))
			if err == nil {
				err = s.Serve()
			}
		} else {
			s := sftp.NewRequestServer(ch, handlers(root))
			err = s.Serve()
		}
		if err != nil && err != io.EOF {
			log.Printf("gosftp: sftp session: %v", err)
		}
		ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
		return
	}
}

// fileHandler serves the directory root as "/". Request paths come cleaned
// and absolute from pkg/sftp, so joining cannot climb above root.
type fileHandler struct{ root string }

func handlers(root string) sftp.Handlers {
	h := &fileHandler{root: root}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

func (h *fileHandler) local(p string) string {
	return filepath.Join(h.root, filepath.FromSlash(path.Clean("/"+p)))
}

func (h *fileHandler) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return os.Open(h.local(r.Filepath))
}

func (h *fileHandler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return h.open(r, os.O_WRONLY)
}

// OpenFile serves handles opened for reading and writing at once.
func (h *fileHandler) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return h.open(r, os.O_RDWR)
}

func (h *fileHandler) open(r *sftp.Request, access int) (*os.File, error) {
	pf := r.Pflags()
	flags := access
	if pf.Creat {
		flags |= os.O_CREATE
	}
	if pf.Trunc {
		flags |= os.O_TRUNC
	}
	if pf.Excl {
		flags |= os.O_EXCL
	}
	// No O_APPEND: pkg/sftp writes with WriteAt, which O_APPEND forbids.
	// New files get 0644 (less the umask): the attributes of an OPEN are
	// not handed to handlers in a usable form (r.Flags holds the open
	// flags there), so, like most handlers, this one ignores them.
	return os.OpenFile(h.local(r.Filepath), flags, 0o644)
}

func (h *fileHandler) Filecmd(r *sftp.Request) error {
	p := h.local(r.Filepath)
	switch r.Method {
	case "Setstat":
		return h.setstat(r, p)
	case "Rename":
		// SFTP v3 rename: never replace an existing destination.
		target := h.local(r.Target)
		if _, err := os.Lstat(target); err == nil {
			return os.ErrExist
		}
		return os.Rename(p, target)
	case "Rmdir":
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return errors.New("not a directory")
		}
		return os.Remove(p)
	case "Remove":
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return errors.New("is a directory")
		}
		return os.Remove(p)
	case "Mkdir":
		// pkg/sftp hands no attributes of a MKDIR to handlers.
		return os.Mkdir(p, 0o755)
	case "Link":
		return os.Link(p, h.local(r.Target))
	case "Symlink":
		// pkg/sftp: Filepath is the link's target (as sent), Target the link.
		return os.Symlink(r.Filepath, h.local(r.Target))
	}
	return sftp.ErrSSHFxOpUnsupported
}

func (h *fileHandler) setstat(r *sftp.Request, p string) error {
	a, attrs := r.AttrFlags(), r.Attributes()
	if a.Size {
		if err := os.Truncate(p, int64(attrs.Size)); err != nil {
			return err
		}
	}
	if a.Permissions {
		if err := os.Chmod(p, attrs.FileMode().Perm()); err != nil {
			return err
		}
	}
	if a.UidGid {
		if err := os.Lchown(p, int(attrs.UID), int(attrs.GID)); err != nil {
			return err
		}
	}
	if a.Acmodtime {
		at := time.Unix(int64(attrs.Atime), 0)
		mt := time.Unix(int64(attrs.Mtime), 0)
		if err := os.Chtimes(p, at, mt); err != nil {
			return err
		}
	}
	return nil
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[offset:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}

func (h *fileHandler) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := h.local(r.Filepath)
	switch r.Method {
	case "List":
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		infos := make([]os.FileInfo, 0, len(entries))
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			infos = append(infos, fi)
		}
		return listerAt(infos), nil
	case "Stat":
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

func (h *fileHandler) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := os.Lstat(h.local(r.Filepath))
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

func (h *fileHandler) Readlink(p string) (string, error) {
	return os.Readlink(h.local(p))
}
