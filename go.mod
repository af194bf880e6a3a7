module github.com/brigadeplatform/brigade

go 1.26.8
