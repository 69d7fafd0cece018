module github.com/popek-vm/popek

go 1.26.8

require (
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.40.0 // indirect
)
