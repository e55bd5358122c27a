module psftp/bindings/go

go 1.24
