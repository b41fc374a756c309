package resolve

import (
	"bytes"
	"container/list"
	"sync"
)

// Cache keeps parsed files across resolvers, so that a request does not
// parse again the packages the last one read (an imported package of
// generated protocol types costs hundreds of milliseconds). An entry is
// used only while its text is byte for byte what the file holds now.
// Resolvers sharing a cache take turns: New waits for the previous one's
// Close.
type Cache struct {
	turn    sync.Mutex
	budget  int // bytes of source kept
	size    int
	entries map[string]*list.Element
	lru     list.List // of *goFile, most recent first
	// Packages beneath GOROOT and the module cache, which nobody edits,
	// are kept whole: neither read nor matched to the build again.
	pkgs    map[string]*list.Element
	pkgLRU  list.List // of *goPackage
	pkgSize int
	frozen  map[string]*goFile // the kept packages' files, by path
}

// NewCache keeps about budget bytes of parsed source.
func NewCache(budget int) *Cache {
	return &Cache{budget: budget, entries: map[string]*list.Element{}, pkgs: map[string]*list.Element{}, frozen: map[string]*goFile{}}
}

// get returns the parse of path if its text is src.
func (c *Cache) get(path string, src []byte) *goFile {
	if f, ok := c.frozen[path]; ok && bytes.Equal(f.src, src) {
		return f
	}
	e, ok := c.entries[path]
	if !ok {
		return nil
	}
	f := e.Value.(*goFile)
	if !bytes.Equal(f.src, src) {
		return nil
	}
	c.lru.MoveToFront(e)
	return f
}

// put keeps f, replacing an older parse of its path.
func (c *Cache) put(f *goFile) {
	if e, ok := c.entries[f.path]; ok {
		old := e.Value.(*goFile)
		c.size -= len(old.src)
		c.lru.Remove(e)
		old.close()
	}
	c.entries[f.path] = c.lru.PushFront(f)
	c.size += len(f.src)
}

// pkg returns a kept package.
func (c *Cache) pkg(key string) *goPackage {
	e, ok := c.pkgs[key]
	if !ok {
		return nil
	}
	c.pkgLRU.MoveToFront(e)
	return e.Value.(*goPackage)
}

// putPkg keeps a package of a folder nobody edits; its files leave the
// per-file list, since the package owns them now.
func (c *Cache) putPkg(key string, p *goPackage) {
	if _, ok := c.pkgs[key]; ok {
		return
	}
	p.frozen = true
	for _, f := range p.files {
		if e, ok := c.entries[f.path]; ok && e.Value.(*goFile) == f {
			c.lru.Remove(e)
			delete(c.entries, f.path)
			c.size -= len(f.src)
		}
		c.pkgSize += len(f.src)
		c.frozen[f.path] = f
	}
	c.pkgs[key] = c.pkgLRU.PushFront(p)
	p.cacheKey = key
}

// trim drops the least recently used parses beyond the budget; called
// between resolvers, when no tree is in use.
func (c *Cache) trim() {
	for c.size > c.budget && c.lru.Len() > 0 {
		e := c.lru.Back()
		f := e.Value.(*goFile)
		c.lru.Remove(e)
		delete(c.entries, f.path)
		c.size -= len(f.src)
		f.close()
	}
	for c.pkgSize > c.budget && c.pkgLRU.Len() > 0 {
		e := c.pkgLRU.Back()
		p := e.Value.(*goPackage)
		c.pkgLRU.Remove(e)
		delete(c.pkgs, p.cacheKey)
		for _, f := range p.files {
			c.pkgSize -= len(f.src)
			delete(c.frozen, f.path)
			f.close()
		}
	}
}
