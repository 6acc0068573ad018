module example.com/affected

go 1.27
