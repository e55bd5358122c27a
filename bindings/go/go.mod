module github.com/psftp/psftp/bindings/go

go 1.24
