package web

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the in-memory session store for a single instance. Its
// records die with the process.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]memoryRecord
	now     func() time.Time
	puts    int
}

type memoryRecord struct {
	rec     Record
	expires time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: make(map[string]memoryRecord), now: time.Now}
}

// Get returns a copy of the record, ErrNoSession when missing or expired.
func (s *MemoryStore) Get(_ context.Context, id string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok || s.now().After(r.expires) {
		delete(s.records, id)
		return nil, ErrNoSession
	}
	rec := r.rec
	rec.Sealed = append([]byte(nil), r.rec.Sealed...)
	return &rec, nil
}

// Put stores a copy of rec for ttl, sweeping expired records now and then.
func (s *MemoryStore) Put(_ context.Context, id string, rec *Record, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c := *rec
	c.Sealed = append([]byte(nil), rec.Sealed...)
	s.records[id] = memoryRecord{rec: c, expires: now.Add(ttl)}
	s.puts++
	if s.puts%256 == 0 {
		for k, r := range s.records {
			if now.After(r.expires) {
				delete(s.records, k)
			}
		}
	}
	return nil
}

// Delete removes a record; deleting a missing one is not an error.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, id)
	return nil
}

// Len reports how many records are held (expired ones included until
// swept), for tests.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}
