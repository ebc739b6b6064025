// The receiver a user who cares about speed would write: a Nexudus webhook receiver in Go.
//
// net/http (HTTP/1.1 keep-alive), HMAC-SHA256 check (upper-case hex, raw body first, then the
// ASCII-folded form Nexudus signs), then one INSERT committed per request through
// mattn/go-sqlite3 in WAL with synchronous=FULL, before answering {"seq": N, "duplicate": false}
// like nexmirror. database/sql keeps a pool of connections; SQLite serialises the writers (busy
// timeout 30 s).
//
// Built by scripts/bench from Debian's golang-go and golang-github-mattn-go-sqlite3-dev with
// GO111MODULE=off and GOPATH=/usr/share/gocode: no module download.
//
// usage: NEXMIRROR_SECRET=... goreceiver --db FILE [--port 0]
// Prints `goreceiver listening on http://127.0.0.1:PORT` when ready; stops on SIGTERM/SIGINT.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	_ "github.com/mattn/go-sqlite3"
)

// asciiFold is .NET ASCIIEncoding.GetBytes: every UTF-16 code unit >= 0x80 becomes '?', so a
// scalar above U+FFFF (a surrogate pair) becomes "??"; invalid UTF-8 counts as one U+FFFD.
func asciiFold(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r < 0x80 && !(r == utf8.RuneError && size == 1):
			out = append(out, byte(r))
		case r > 0xFFFF:
			out = append(out, '?', '?')
		default:
			out = append(out, '?')
		}
	}
	return out
}

func sign(key, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return []byte(strings.ToUpper(hex.EncodeToString(mac.Sum(nil))))
}

func main() {
	dbPath := flag.String("db", "", "SQLite file")
	port := flag.Int("port", 0, "port on 127.0.0.1 (0 picks one)")
	flag.Parse()
	key := asciiFold([]byte(strings.TrimSpace(os.Getenv("NEXMIRROR_SECRET"))))

	dsn := "file:" + *dbPath + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=30000"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS events (
		seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT NOT NULL, action TEXT NOT NULL,
		body BLOB NOT NULL, body_sha256 TEXT NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	insert, err := db.Prepare("INSERT INTO events (received_at, action, body, body_sha256) VALUES (?, ?, ?, ?)")
	if err != nil {
		log.Fatal(err)
	}

	answer := func(w http.ResponseWriter, status int, text string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, text)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"status":"ok"}`)
	})
	mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			answer(w, 405, `{"error":"method not allowed"}`)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			answer(w, 400, `{"error":"unreadable body"}`)
			return
		}
		given := []byte(strings.ToUpper(strings.TrimSpace(r.Header.Get("X-Nexudus-Hook-Signature"))))
		if !hmac.Equal(sign(key, body), given) && !hmac.Equal(sign(key, asciiFold(body)), given) {
			answer(w, 401, `{"error":"bad signature"}`)
			return
		}
		sum := sha256.Sum256(body)
		now := time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z")
		// Autocommit: the row is committed (and, with synchronous=FULL, synced) before 200.
		result, err := insert.Exec(now, strings.TrimPrefix(r.URL.Path, "/webhooks/"), body, hex.EncodeToString(sum[:]))
		if err != nil {
			answer(w, 503, `{"error":"not stored"}`)
			return
		}
		seq, _ := result.LastInsertId()
		answer(w, 200, fmt.Sprintf(`{"seq":%d,"duplicate":false}`, seq))
	})

	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	server := &http.Server{Handler: mux}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		server.Shutdown(ctx)
	}()
	fmt.Printf("goreceiver listening on http://%s\n", listener.Addr())
	os.Stdout.Sync()
	if err := server.Serve(listener); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	db.Close()
}
