module forkexec

go 1.19
