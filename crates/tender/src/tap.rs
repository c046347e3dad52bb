//! Network device attach: a Linux tap interface opened by name through
//! `/dev/net/tun`, or a descriptor the caller passed down (`@FD`).

use std::ffi::{OsStr, OsString};
use std::fs::OpenOptions;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

use crate::cli::TapSource;

/// MTU reported for an `@FD` descriptor whose interface cannot be asked
/// (e.g. not a tap descriptor): the Ethernet default.
pub const FALLBACK_MTU: u16 = 1500;

// <linux/ethtool.h>: set GRO / GSO state, with a `struct ethtool_value`.
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_SGRO: u32 = 0x2c;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// A tap attach problem. Messages start with upstream's
/// "Could not attach interface" and say what to check.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error(
        "Could not attach interface: {iface}: the name must be 1 to {max} bytes",
        max = libc::IFNAMSIZ - 1
    )]
    BadName { iface: String },
    #[error("Could not attach interface: {iface}: no such interface in this network namespace; create it with `ip tuntap add {iface} mode tap`")]
    NoSuchInterface { iface: String },
    #[error("Could not attach interface: {iface}: interface is down; bring it up with `ip link set dev {iface} up`")]
    Down { iface: String },
    #[error("Could not attach interface: {iface}: {what}: {source}")]
    Io {
        iface: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("Could not attach interface: {iface}: the kernel attached `{got}' instead; give the exact name of an existing tap interface")]
    NameChanged { iface: String, got: String },
    #[error(
        "Could not attach interface: {iface}: MTU {mtu} does not fit the manifest's 16-bit field"
    )]
    Mtu { iface: String, mtu: i32 },
    #[error("Could not attach interface: @{fd}: descriptor {fd} is not open in this process; pass an open tap descriptor")]
    FdNotOpen { fd: i32 },
    #[error("Could not attach interface: @{fd}: descriptor {fd} is a regular file or directory, not a network device")]
    FdNotDevice { fd: i32 },
    #[error("Could not attach interface: @{fd}: descriptor {fd} is a pipe or FIFO, not a network device; pass a tap descriptor (or a datagram socket)")]
    FdPipe { fd: i32 },
    #[error("Could not attach interface: @{fd}: {what}: {source}")]
    FdIo {
        fd: i32,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("Could not generate a MAC address: {0}")]
    Random(std::io::Error),
}

/// An attached network device.
#[derive(Debug)]
pub struct Tap {
    pub fd: OwnedFd,
    pub mtu: u16,
}

/// Attaches the tap named or passed by `source`.
pub fn attach(source: &TapSource) -> Result<Tap, TapError> {
    match source {
        TapSource::Interface(name) => attach_by_name(name),
        TapSource::Fd(fd) => attach_fd(*fd),
    }
}

fn ifreq_for(name: &[u8]) -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name array and a union of
    // integers/pointers); all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    ifr
}

fn ifr_name_bytes(ifr: &libc::ifreq) -> Vec<u8> {
    ifr.ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        // c_char is i8 on x86_64 and u8 on aarch64: take the byte either way.
        .map(|&c| u8::from_ne_bytes(c.to_ne_bytes()))
        .collect()
}

/// A datagram socket to issue interface ioctls on. Closed with a plain
/// close(2): dropping an `OwnedFd` in a debug build also calls fcntl(2),
/// which launchers' seccomp allow-lists (urunc's) do not include.
struct ControlSocket(RawFd);

impl AsRawFd for ControlSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        // SAFETY: closes the descriptor this value owns, once.
        unsafe { libc::close(self.0) };
    }
}

fn control_socket() -> std::io::Result<ControlSocket> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(ControlSocket(s))
}

/// `ioctl(fd, req, ifr)` for the `struct ifreq` family.
fn ioctl_ifreq(
    fd: &impl AsRawFd,
    req: libc::c_ulong,
    ifr: &mut libc::ifreq,
) -> std::io::Result<()> {
    // SAFETY: every request used with this helper reads and writes a
    // `struct ifreq`, which `ifr` points to for the whole call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req as _, ifr as *mut libc::ifreq) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn query_mtu(sock: &ControlSocket, name: &[u8]) -> std::io::Result<i32> {
    let mut ifr = ifreq_for(name);
    ioctl_ifreq(sock, libc::SIOCGIFMTU as libc::c_ulong, &mut ifr)?;
    // SAFETY: SIOCGIFMTU filled in the `ifru_mtu` member of the union.
    Ok(unsafe { ifr.ifr_ifru.ifru_mtu })
}

/// Turns off GRO and GSO like `ethtool -K IFACE gro off gso off`: without a
/// virtio-net header the kernel could otherwise hand the guest aggregated
/// frames far larger than its MTU. Failures are ignored, as upstream does
/// (not every interface supports ethtool).
fn disable_offloads(sock: &ControlSocket, name: &[u8]) {
    for cmd in [ETHTOOL_SGRO, ETHTOOL_SGSO] {
        let mut val = EthtoolValue { cmd, data: 0 };
        let mut ifr = ifreq_for(name);
        ifr.ifr_ifru.ifru_data = (&mut val as *mut EthtoolValue).cast();
        let _ = ioctl_ifreq(sock, libc::SIOCETHTOOL as libc::c_ulong, &mut ifr);
    }
}

fn attach_by_name(iface_os: &OsStr) -> Result<Tap, TapError> {
    let name = iface_os.as_bytes();
    let iface = iface_os.to_string_lossy().into_owned();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return Err(TapError::BadName { iface });
    }
    let io = |what, source| TapError::Io {
        iface: iface.clone(),
        what,
        source,
    };
    let sock = control_socket().map_err(|e| io("socket(AF_INET) failed", e))?;

    // Check existence first: opening /dev/net/tun with an unknown name
    // would create a new interface instead of failing.
    let mut ifr = ifreq_for(name);
    if let Err(e) = ioctl_ifreq(&sock, libc::SIOCGIFFLAGS as libc::c_ulong, &mut ifr) {
        return Err(match e.raw_os_error() {
            Some(libc::ENODEV) => TapError::NoSuchInterface { iface },
            _ => io("SIOCGIFFLAGS failed", e),
        });
    }
    // SAFETY: SIOCGIFFLAGS filled in the `ifru_flags` member.
    let flags = i32::from(unsafe { ifr.ifr_ifru.ifru_flags });
    if flags & (libc::IFF_UP | libc::IFF_RUNNING) == 0 {
        return Err(TapError::Down { iface });
    }

    let tun = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/net/tun")
        .map_err(|e| io("could not open /dev/net/tun", e))?;
    let fd = OwnedFd::from(tun);
    let mut ifr = ifreq_for(name);
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    ioctl_ifreq(&fd, libc::TUNSETIFF as libc::c_ulong, &mut ifr).map_err(|e| {
        io(
            "TUNSETIFF failed (is it a tap interface, and not in use?)",
            e,
        )
    })?;
    let got = ifr_name_bytes(&ifr);
    if got != name {
        return Err(TapError::NameChanged {
            got: String::from_utf8_lossy(&got).into_owned(),
            iface,
        });
    }

    let mtu = query_mtu(&sock, name).map_err(|e| io("SIOCGIFMTU failed", e))?;
    let mtu = u16::try_from(mtu).map_err(|_| TapError::Mtu {
        iface: iface.clone(),
        mtu,
    })?;
    disable_offloads(&sock, name);
    Ok(Tap { fd, mtu })
}

fn attach_fd(fd: i32) -> Result<Tap, TapError> {
    let io = |what, source| TapError::FdIo { fd, what, source };
    // fstat and ioctl only (no fcntl): both are on the allow-lists of
    // launchers that confine the tender before it starts (urunc).
    // SAFETY: an all-zero `struct stat` is valid; fstat fills it in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer for the whole call.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EBADF) {
            return Err(TapError::FdNotOpen { fd });
        }
        return Err(io("fstat failed", e));
    }
    let fmt = st.st_mode & libc::S_IFMT;
    if fmt == libc::S_IFREG || fmt == libc::S_IFDIR {
        return Err(TapError::FdNotDevice { fd });
    }
    // A pipe has no frames: once its writer closes, it is readable
    // forever with nothing to read, and a guest waiting for packets spins.
    if fmt == libc::S_IFIFO {
        return Err(TapError::FdPipe { fd });
    }
    let on: libc::c_int = 1;
    // SAFETY: FIONBIO reads one int; sets O_NONBLOCK on an open descriptor.
    if unsafe { libc::ioctl(fd, libc::FIONBIO, &on) } < 0 {
        return Err(io(
            "could not set O_NONBLOCK",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: the command line hands this inherited descriptor to the
    // tender; the device table makes sure no two devices claim it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };

    // Ask the tap which interface it is, to report its real MTU. Upstream
    // leaves the MTU unset for @FD; a descriptor that is not a tap (a test
    // harness's socket, say) gets the Ethernet default.
    let mut ifr = ifreq_for(b"");
    let mtu = match ioctl_ifreq(&owned, libc::TUNGETIFF as libc::c_ulong, &mut ifr) {
        Ok(()) => {
            let name = ifr_name_bytes(&ifr);
            let sock = control_socket().map_err(|e| io("socket(AF_INET) failed", e))?;
            match query_mtu(&sock, &name) {
                Ok(m) => u16::try_from(m).unwrap_or(FALLBACK_MTU),
                Err(_) => FALLBACK_MTU,
            }
        }
        Err(_) => FALLBACK_MTU,
    };
    Ok(Tap { fd: owned, mtu })
}

/// A random locally administered unicast MAC address.
pub fn random_mac() -> Result<[u8; 6], TapError> {
    let mut mac = [0u8; 6];
    // SAFETY: getrandom writes at most `mac.len()` bytes into `mac`.
    let n = unsafe { libc::getrandom(mac.as_mut_ptr().cast(), mac.len(), 0) };
    if usize::try_from(n).ok() != Some(mac.len()) {
        // Kernels before 3.17 lack getrandom(2).
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut mac))
            .map_err(TapError::Random)?;
    }
    mac[0] = (mac[0] & 0xfe) | 0x02;
    Ok(mac)
}

/// Formats a MAC address as `xx:xx:xx:xx:xx:xx`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// The interface name as given, for messages.
pub fn describe(source: &TapSource) -> OsString {
    match source {
        TapSource::Interface(n) => n.clone(),
        TapSource::Fd(fd) => OsString::from(format!("@{fd}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_macs_are_local_unicast() {
        for _ in 0..32 {
            let m = random_mac().unwrap();
            assert_eq!(m[0] & 0x01, 0, "{m:?} is multicast");
            assert_eq!(m[0] & 0x02, 0x02, "{m:?} is not locally administered");
        }
        assert_ne!(random_mac().unwrap(), random_mac().unwrap());
    }

    #[test]
    fn mac_formatting() {
        assert_eq!(
            format_mac(&[2, 0xab, 0, 1, 0x10, 0xff]),
            "02:ab:00:01:10:ff"
        );
    }

    #[test]
    fn bad_names_and_missing_interfaces() {
        let e = attach(&TapSource::Interface("a-very-long-interface-name".into())).unwrap_err();
        assert!(matches!(e, TapError::BadName { .. }), "{e}");
        let e = attach(&TapSource::Interface("cortennotap0".into())).unwrap_err();
        assert!(matches!(e, TapError::NoSuchInterface { .. }), "{e}");
    }

    #[test]
    fn fd_source_checks_the_descriptor() {
        let e = attach(&TapSource::Fd(987_654)).unwrap_err();
        assert!(matches!(e, TapError::FdNotOpen { fd: 987_654 }), "{e}");
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        let e = attach(&TapSource::Fd(f.as_raw_fd())).unwrap_err();
        assert!(matches!(e, TapError::FdNotDevice { .. }), "{e}");
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two-element array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let e = attach(&TapSource::Fd(fds[0])).unwrap_err();
        assert!(matches!(e, TapError::FdPipe { fd } if fd == fds[0]), "{e}");
        for fd in fds {
            // SAFETY: closing the pipe made above.
            unsafe { libc::close(fd) };
        }
    }

    #[test]
    fn fd_source_that_is_not_a_tap_gets_default_mtu() {
        let mut fds = [0; 2];
        // SAFETY: socketpair fills the two-element array.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0);
        let t = attach(&TapSource::Fd(fds[0])).unwrap();
        assert_eq!(t.mtu, FALLBACK_MTU);
        // SAFETY: F_GETFL only reads flags.
        let fl = unsafe { libc::fcntl(t.fd.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(fl & libc::O_NONBLOCK, 0);
        // SAFETY: closing the other end we own.
        unsafe { libc::close(fds[1]) };
    }
}
