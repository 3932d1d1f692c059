//! The bare runtime a static no_std binary needs: the `_start` entry, the memory functions
//! LLVM emits calls to, the panic handler, and a cell for the helper's static buffers.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

/// Process entry: hands the initial stack pointer (argc, argv…, NULL, envp…) to `crate::main`.
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {main}",
        "ud2",
        main = sym crate::main,
    )
}

/// Static storage for the single-threaded helper (the spec buffer, argv/envp arrays, the fd
/// table). Handing out `&mut` is sound because the helper never runs a second thread and each
/// buffer is borrowed by one stage at a time. A clone that shares the helper's memory until it
/// executes (`clone::into_namespaces`) runs on its own stack and writes only the buffers of the
/// stages after the clone, which the helper's side (the supervisor) never touches, and the id
/// map text only after the go byte, when the helper's side is done with it.
pub struct Static<T>(UnsafeCell<T>);

// SAFETY: the helper is single-threaded (it never clones a thread), so no concurrent access;
// a clone sharing its memory uses other buffers than the helper's side (see above).
unsafe impl<T> Sync for Static<T> {}

impl<T> Static<T> {
    pub const fn new(v: T) -> Self {
        Static(UnsafeCell::new(v))
    }

    /// The contents. Callers take it once per buffer (see each `static`).
    #[allow(clippy::mut_from_ref)]
    pub fn get(&'static self) -> &'static mut T {
        // SAFETY: single-threaded, and every static is borrowed by exactly one call site.
        unsafe { &mut *self.0.get() }
    }
}

/// Static storage written once at run time (the decoded spec). Uninitialised until then, so
/// it lives in .bss: a large `T` whose default is not all zeros costs no bytes in the file.
pub struct Slot<T>(UnsafeCell<MaybeUninit<T>>);

// SAFETY: the helper is single-threaded (it never clones a thread), so no concurrent access.
unsafe impl<T> Sync for Slot<T> {}

impl<T> Slot<T> {
    pub const fn new() -> Self {
        Slot(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// Stores `v` and hands it out for the rest of the helper's life. Called once per slot.
    #[allow(clippy::mut_from_ref)]
    pub fn put(&'static self, v: T) -> &'static mut T {
        // SAFETY: single-threaded, and each slot is written by exactly one call site, once,
        // before anything reads it; `write` does not drop the uninitialised old value.
        unsafe { (*self.0.get()).write(v) }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    crate::sys::exit_group(crate::status_exit::SETUP_FAILED)
}

/// Debug builds reference this even with `panic = "abort"`.
#[cfg(debug_assertions)]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

// Memory functions: compiler_builtins does not provide them on this target. `rep` string
// instructions keep LLVM from recognising the loops and calling these functions recursively.

/// # Safety
/// Standard `memcpy` contract: `n` bytes valid at both pointers, no overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees n valid bytes at src and dst.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _,
            inout("rsi") src => _, options(nostack, preserves_flags));
    }
    dst
}

/// # Safety
/// Standard `memmove` contract: `n` bytes valid at both pointers, overlap allowed.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize) + n {
        // SAFETY: forward copy is safe when dst is before src or past its end.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: backward copy (direction flag set, then cleared) for an overlapping tail.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld",
            inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _, options(nostack));
    }
    dst
}

/// # Safety
/// Standard `memset` contract: `n` writable bytes at `dst`.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees n writable bytes at dst.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _,
            in("al") c as u8, options(nostack, preserves_flags));
    }
    dst
}

/// # Safety
/// Standard `memcmp` contract: `n` readable bytes at both pointers.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, within the caller's guarantee.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// Standard `bcmp` contract: `n` readable bytes at both pointers.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
/// `s` points to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a terminator, so every byte read up to it is valid.
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

/// Whether the kernel asked for a secure exec (`AT_SECURE` in the auxiliary vector): this
/// exec raised the process's privilege (setuid, setgid, file capabilities, or an LSM that
/// says so). `sp` is the initial stack pointer `_start` received.
pub fn secure_exec(sp: *const usize) -> bool {
    const AT_NULL: usize = 0;
    const AT_SECURE: usize = 23;
    // SAFETY: at process entry (System V x86_64 ABI) sp points at argc, then argc argv
    // pointers and a NULL, the envp pointers and a NULL, then the auxiliary vector of
    // (type, value) pairs ending with AT_NULL; all of it stays valid for the process's life.
    unsafe {
        let mut p = sp.add(1 + *sp + 1); // past argc, argv and its NULL
        while *p != 0 {
            p = p.add(1); // envp
        }
        p = p.add(1);
        while *p != AT_NULL {
            if *p == AT_SECURE {
                return *p.add(1) != 0;
            }
            p = p.add(2);
        }
    }
    false
}

/// The process arguments, read from the initial stack.
pub struct Args {
    argv: *const *const u8,
    left: usize,
}

impl Args {
    /// `sp` is the initial stack pointer `_start` received.
    pub fn from_stack(sp: *const usize) -> Args {
        // SAFETY: at process entry, sp points at argc followed by argc argv pointers (the
        // System V x86_64 ABI), which stay valid for the life of the process.
        let argc = unsafe { *sp };
        Args {
            // SAFETY: argv starts right after argc on the same stack.
            argv: unsafe { sp.add(1) } as *const *const u8,
            left: argc,
        }
    }

    /// The arguments after the first `n` (none when there are fewer), without reading those.
    pub fn after(sp: *const usize, n: usize) -> Args {
        let mut args = Args::from_stack(sp);
        let skip = n.min(args.left);
        // SAFETY: skip <= argc: within (or one past) the argv array.
        args.argv = unsafe { args.argv.add(skip) };
        args.left -= skip;
        args
    }
}

impl Iterator for Args {
    type Item = &'static core::ffi::CStr;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        // SAFETY: left > 0, so argv points at one of the argc valid, NUL-terminated strings.
        let arg = unsafe { core::ffi::CStr::from_ptr(*self.argv as *const core::ffi::c_char) };
        // SAFETY: stays within (or one past) the argv array.
        self.argv = unsafe { self.argv.add(1) };
        self.left -= 1;
        Some(arg)
    }
}
