package tests

import "syscall"

// mountTmpfs mounts a tmpfs of size (like "4m") on dir; it needs root.
func mountTmpfs(dir, size string) error {
	return syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700")
}

// unmount detaches the file system mounted on dir.
func unmount(dir string) error { return syscall.Unmount(dir, syscall.MNT_DETACH) }
