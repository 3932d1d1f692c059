//! Errno texts without libc: what glibc's `strerror` says for errno 0–133 (lowercased first
//! letter, as Go prints a `syscall.Errno`), so the static helper can word an error exactly as
//! the clients do. `crates/spec/tests/errno.rs` checks every entry against the C library.

/// The highest errno with a text here.
pub const MAX: i32 = 133;

/// Entry `n` is the text of errno `n`; an empty entry is a number with no name
/// (glibc says "Unknown error N").
const TEXTS: &str = "\
success\n\
operation not permitted\n\
no such file or directory\n\
no such process\n\
interrupted system call\n\
input/output error\n\
no such device or address\n\
argument list too long\n\
exec format error\n\
bad file descriptor\n\
no child processes\n\
resource temporarily unavailable\n\
cannot allocate memory\n\
permission denied\n\
bad address\n\
block device required\n\
device or resource busy\n\
file exists\n\
invalid cross-device link\n\
no such device\n\
not a directory\n\
is a directory\n\
invalid argument\n\
too many open files in system\n\
too many open files\n\
inappropriate ioctl for device\n\
text file busy\n\
file too large\n\
no space left on device\n\
illegal seek\n\
read-only file system\n\
too many links\n\
broken pipe\n\
numerical argument out of domain\n\
numerical result out of range\n\
resource deadlock avoided\n\
file name too long\n\
no locks available\n\
function not implemented\n\
directory not empty\n\
too many levels of symbolic links\n\
\n\
no message of desired type\n\
identifier removed\n\
channel number out of range\n\
level 2 not synchronized\n\
level 3 halted\n\
level 3 reset\n\
link number out of range\n\
protocol driver not attached\n\
no CSI structure available\n\
level 2 halted\n\
invalid exchange\n\
invalid request descriptor\n\
exchange full\n\
no anode\n\
invalid request code\n\
invalid slot\n\
\n\
bad font file format\n\
device not a stream\n\
no data available\n\
timer expired\n\
out of streams resources\n\
machine is not on the network\n\
package not installed\n\
object is remote\n\
link has been severed\n\
advertise error\n\
srmount error\n\
communication error on send\n\
protocol error\n\
multihop attempted\n\
rFS specific error\n\
bad message\n\
value too large for defined data type\n\
name not unique on network\n\
file descriptor in bad state\n\
remote address changed\n\
can not access a needed shared library\n\
accessing a corrupted shared library\n\
.lib section in a.out corrupted\n\
attempting to link in too many shared libraries\n\
cannot exec a shared library directly\n\
invalid or incomplete multibyte or wide character\n\
interrupted system call should be restarted\n\
streams pipe error\n\
too many users\n\
socket operation on non-socket\n\
destination address required\n\
message too long\n\
protocol wrong type for socket\n\
protocol not available\n\
protocol not supported\n\
socket type not supported\n\
operation not supported\n\
protocol family not supported\n\
address family not supported by protocol\n\
address already in use\n\
cannot assign requested address\n\
network is down\n\
network is unreachable\n\
network dropped connection on reset\n\
software caused connection abort\n\
connection reset by peer\n\
no buffer space available\n\
transport endpoint is already connected\n\
transport endpoint is not connected\n\
cannot send after transport endpoint shutdown\n\
too many references: cannot splice\n\
connection timed out\n\
connection refused\n\
host is down\n\
no route to host\n\
operation already in progress\n\
operation now in progress\n\
stale file handle\n\
structure needs cleaning\n\
not a XENIX named type file\n\
no XENIX semaphores available\n\
is a named type file\n\
remote I/O error\n\
disk quota exceeded\n\
no medium found\n\
wrong medium type\n\
operation canceled\n\
required key not available\n\
key has expired\n\
key has been revoked\n\
key was rejected by service\n\
owner died\n\
state not recoverable\n\
operation not possible due to RF-kill\n\
memory page has hardware error\n";

/// The text of errno `n`, or `None` for a number glibc calls "Unknown error N".
pub fn text(n: i32) -> Option<&'static str> {
    core::str::from_utf8(bytes(n))
        .ok()
        .filter(|t| !t.is_empty())
}

/// The text of errno `n` as bytes, empty for a number glibc calls "Unknown error N".
pub fn bytes(n: i32) -> &'static [u8] {
    if !(0..=MAX).contains(&n) {
        return b"";
    }
    line(TEXTS.as_bytes(), n as usize)
}

/// Line `n` of `text` (empty past the end).
#[inline(never)]
pub fn line(text: &[u8], n: usize) -> &[u8] {
    text.split(|&b| b == b'\n').nth(n).unwrap_or(b"")
}
