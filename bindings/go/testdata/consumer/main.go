// A program outside the psftp module, built by test.sh the way a user
// builds one (its own go.mod; a replace line points at this checkout)
// against an installed psftp, shared or with -tags psftp_static. It
// uploads a local file with io.Copy into Conn.Create, downloads it with
// Get and checks the bytes, so a run proves the linked library works.
//
//	consumer HOST PORT USER KEYFILE KNOWN_HOSTS LOCAL REMOTE
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	psftp "github.com/psftp/psftp/bindings/go"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 7 {
		return fmt.Errorf("usage: consumer HOST PORT USER KEYFILE KNOWN_HOSTS LOCAL REMOTE")
	}
	port, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	local, remote := args[5], args[6]
	conn, err := psftp.Dial(args[0], psftp.Config{Port: port, User: args[2], KeyFile: args[3], KnownHosts: args[4]})
	if err != nil {
		return err
	}
	defer conn.Close()

	src, err := os.Open(local)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := conn.Create(remote)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}

	var back bytes.Buffer
	if _, err := conn.Getfo(context.Background(), remote, &back, nil); err != nil {
		return err
	}
	want, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	if !bytes.Equal(back.Bytes(), want) {
		return fmt.Errorf("%s came back with %d bytes, not the %d sent", remote, back.Len(), len(want))
	}
	fmt.Printf("psftp %s: %d bytes to %s and back\n", psftp.Version(), len(want), remote)
	return nil
}
