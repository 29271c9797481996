package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// handwrittenCommand is the first argument that makes this program the
// hand-written comparison server instead of the load generator.
const handwrittenCommand = "handwritten-server"

// The hand-written server is what per-request costs are compared with:
// what one writes in an afternoon without sqlc, Connect or an actor.
// net/http, encoding/json and database/sql on modernc SQLite (WAL,
// synchronous=NORMAL), one statement per call (an update reads its row back,
// as updated_at comes from a trigger), the Connect JSON paths and shapes of
// CreateCustomer, GetCustomer, UpdateCustomer (the name) and ListCustomers
// (keyset pages by id), and no validation, keys, limits, logs or search.
const handwrittenSchema = `
CREATE TABLE IF NOT EXISTS customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT,
  address TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS customers_by_email ON customers (email COLLATE NOCASE);
CREATE TRIGGER IF NOT EXISTS customers_updated AFTER UPDATE OF name, email, phone, address ON customers BEGIN
  UPDATE customers SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;`

const handwrittenColumns = `id, name, email, phone, address, created_at, updated_at`

// hwCustomer is a customer in the JSON the Connect protocol uses.
type hwCustomer struct {
	ID         string  `json:"id,omitempty"`
	Name       string  `json:"name,omitempty"`
	Email      string  `json:"email,omitempty"`
	Phone      *string `json:"phone,omitempty"`
	Address    *string `json:"address,omitempty"`
	CreateTime string  `json:"createTime,omitempty"`
	UpdateTime string  `json:"updateTime,omitempty"`
}

type hwServer struct{ db *sql.DB }

// serveHandwritten runs the hand-written server on a free loopback port,
// with its database in the file args' -db names.
func serveHandwritten(args []string) error {
	fs := flag.NewFlagSet(handwrittenCommand, flag.ContinueOnError)
	path := fs.String("db", "handwritten.db", "the SQLite `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+*path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(8)
	if _, err := db.Exec(handwrittenSchema); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "listening on http://"+ln.Addr().String())
	s := hwServer{db}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /customer.v1.CustomerService/CreateCustomer", s.create)
	mux.HandleFunc("POST /customer.v1.CustomerService/GetCustomer", s.get)
	mux.HandleFunc("POST /customer.v1.CustomerService/UpdateCustomer", s.update)
	mux.HandleFunc("POST /customer.v1.CustomerService/ListCustomers", s.list)
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0)}
	return srv.Serve(ln)
}

func hwScan(row interface{ Scan(...any) error }) (hwCustomer, error) {
	var c hwCustomer
	var id int64
	err := row.Scan(&id, &c.Name, &c.Email, &c.Phone, &c.Address, &c.CreateTime, &c.UpdateTime)
	c.ID = strconv.FormatInt(id, 10)
	return c, err
}

// hwReply writes v as JSON, or err as a Connect error.
func hwReply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, sql.ErrNoRows):
		w.WriteHeader(http.StatusNotFound)
		v = map[string]string{"code": "not_found"}
	case err != nil:
		w.WriteHeader(http.StatusInternalServerError)
		v = map[string]string{"code": "internal"}
	}
	json.NewEncoder(w).Encode(v)
}

// hwDecode decodes the request body into v, answering 400 when it cannot.
func hwDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, `{"code":"invalid_argument"}`, http.StatusBadRequest)
		return false
	}
	return true
}

func (s hwServer) create(w http.ResponseWriter, r *http.Request) {
	var req struct{ Customer hwCustomer }
	if !hwDecode(w, r, &req) {
		return
	}
	c := req.Customer
	out, err := hwScan(s.db.QueryRow(`INSERT INTO customers (name, email, phone, address) VALUES (?, ?, ?, ?) RETURNING `+handwrittenColumns,
		c.Name, c.Email, c.Phone, c.Address))
	hwReply(w, map[string]any{"customer": out}, err)
}

func (s hwServer) get(w http.ResponseWriter, r *http.Request) {
	var req struct{ ID string }
	if !hwDecode(w, r, &req) {
		return
	}
	out, err := hwScan(s.db.QueryRow(`SELECT `+handwrittenColumns+` FROM customers WHERE id = ?`, req.ID))
	hwReply(w, map[string]any{"customer": out}, err)
}

func (s hwServer) update(w http.ResponseWriter, r *http.Request) {
	var req struct{ Customer hwCustomer }
	if !hwDecode(w, r, &req) {
		return
	}
	if _, err := s.db.Exec(`UPDATE customers SET name = ? WHERE id = ?`, req.Customer.Name, req.Customer.ID); err != nil {
		hwReply(w, nil, err)
		return
	}
	out, err := hwScan(s.db.QueryRow(`SELECT `+handwrittenColumns+` FROM customers WHERE id = ?`, req.Customer.ID))
	hwReply(w, map[string]any{"customer": out}, err)
}

func (s hwServer) list(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PageSize  int
		PageToken string
	}
	if !hwDecode(w, r, &req) {
		return
	}
	size := req.PageSize
	if size <= 0 || size > 1000 {
		size = 50
	}
	after, _ := strconv.ParseInt(req.PageToken, 10, 64)
	rows, err := s.db.Query(`SELECT `+handwrittenColumns+` FROM customers WHERE id > ? ORDER BY id LIMIT ?`, after, size)
	if err != nil {
		hwReply(w, nil, err)
		return
	}
	defer rows.Close()
	page := []hwCustomer{}
	for rows.Next() {
		c, err := hwScan(rows)
		if err != nil {
			hwReply(w, nil, err)
			return
		}
		page = append(page, c)
	}
	next := ""
	if len(page) == size {
		next = page[len(page)-1].ID
	}
	hwReply(w, map[string]any{"customers": page, "nextPageToken": next}, rows.Err())
}
