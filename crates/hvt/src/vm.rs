//! The KVM virtual machine: /dev/kvm, one VM, one memory slot holding all
//! of guest memory at guest-physical 0, one vCPU.

use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::{Kvm, VcpuFd, VmFd};

use crate::guest_mem::GuestMemory;

/// A KVM ioctl request number (`_IO`/`_IOR`/`_IOW(KVMIO, nr, size)`), for
/// the requests kvm-ioctls does not wrap (KVM_IOEVENTFD) and for the
/// seccomp filter, which pins them.
pub const fn kvm_ioctl(dir: IoctlDir, nr: u64, size: usize) -> u64 {
    const KVMIO: u64 = 0xae;
    let dir = match dir {
        IoctlDir::None => 0,
        IoctlDir::Write => 1,
        IoctlDir::Read => 2,
    };
    (dir << 30) | ((size as u64) << 16) | (KVMIO << 8) | nr
}

/// Data direction of an ioctl, from user space's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoctlDir {
    None,
    /// The kernel reads the argument (`_IOW`).
    Write,
    /// The kernel writes the argument (`_IOR`).
    Read,
}

/// The KVM API version every Linux since 2.6.22 reports.
const KVM_API_VERSION: i32 = 12;

#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error(
        "could not open /dev/kvm: {0}; check that KVM is enabled on this host and that you \
         may read and write /dev/kvm"
    )]
    Open(kvm_ioctls::Error),
    #[error(
        "KVM: /dev/kvm answered API version {0}, corten-hvt requires version 12 (a negative \
         value means the KVM_GET_API_VERSION ioctl failed: /dev/kvm is not a KVM device)"
    )]
    ApiVersion(i32),
    #[error("KVM: could not create a VM: {0}")]
    CreateVm(kvm_ioctls::Error),
    #[error("KVM: could not create the vCPU: {0}")]
    CreateVcpu(kvm_ioctls::Error),
    #[error("KVM: could not map {size} bytes of guest memory into the VM: {source}")]
    MemoryRegion {
        size: u64,
        source: kvm_ioctls::Error,
    },
}

pub struct Vm {
    pub kvm: Kvm,
    pub vm: VmFd,
    pub vcpu: VcpuFd,
    /// Declared last: dropped after the VM that maps it.
    pub mem: GuestMemory,
}

impl Vm {
    /// Opens KVM and creates the VM with `mem` as its only memory slot.
    pub fn create(mut mem: GuestMemory) -> Result<Vm, VmError> {
        let kvm = Kvm::new().map_err(VmError::Open)?;
        let version = kvm.get_api_version();
        if version != KVM_API_VERSION {
            return Err(VmError::ApiVersion(version));
        }
        let vm = kvm.create_vm().map_err(VmError::CreateVm)?;
        // The vCPU before the memory slot: creating it afterwards costs
        // milliseconds more on some hosts (shadow MMU set-up per slot).
        let vcpu = vm.create_vcpu(0).map_err(VmError::CreateVcpu)?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: mem.mapped_size(),
            userspace_addr: mem.host_address(),
        };
        // SAFETY: the region is exactly the mapping owned by `mem`, which
        // lives in the same struct as the VM and is dropped after it (field
        // order), so the kernel never sees a dangling range.
        unsafe { vm.set_user_memory_region(region) }.map_err(|source| VmError::MemoryRegion {
            size: mem.mapped_size(),
            source,
        })?;
        Ok(Vm { kvm, vm, vcpu, mem })
    }
}
