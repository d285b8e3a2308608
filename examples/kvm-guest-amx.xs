# Question: A guest with AMX (seed 003, linux-design.md 8): guest permissions, the
#   guest buffer growing at KVM_SET_CPUID, the guest's own XFD and XFD_ERR.
# Answer:
#   - ARCH_REQ_XCOMP_GUEST_PERM must come before the first vCPU of the
#     process: afterwards the permissions are locked (-EBUSY), and
#     KVM_SET_CPUID with AMX is refused for a process without them (-EPERM);
#   - with the permission, KVM_CAP_XSAVE2 grows to the full AMX size and
#     KVM_SET_CPUID reallocates the guest buffer (uabi_size follows);
#   - the guest arms XFD for tile data; its first tile access raises #NM
#     with XFD_ERR set; KVM keeps XFD_ERR for the guest (the guest reads it
#     back), and the host never sees it: after the VM exit XFD_ERR is 0;
#   - the host task's own XFD comes back when KVM_RUN returns.
machine cpu=intel-sapphire-rapids cpus=2
thread vmm
thread late on cpu1

vmm arch_prctl REQ_XCOMP_GUEST_PERM 18
expect errno vmm == 0
vcpu g0 in vmm
expect kvm g0 cap-xsave2 == 11008
kvm g0 set-cpuid x87|sse|avx|opmask|zmm_hi256|hi16_zmm|pkru|xtilecfg|xtiledata
expect kvm g0 errno == 0
expect kvm g0 uabi-size == 11008

vcpu g1 in late                  # another process: its first vCPU locks its guest permissions
late arch_prctl REQ_XCOMP_GUEST_PERM 18
expect errno late == EBUSY
kvm g1 set-cpuid x87|sse|avx|xtilecfg|xtiledata
expect kvm g1 errno == EPERM

kvm g0 run
expect kvm g0 xfd == 0           # the guest's XFD starts at its RESET value
guest g0 xsetbv x87|sse|avx|xtilecfg|xtiledata
expect kvm g0 errno == 0
guest g0 wrmsr xfd = xtiledata
expect kvm g0 xfd == xtiledata
guest g0 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010
guest g0 touch xtiledata         # #NM: XFD armed for tile data
expect kvm g0 xfd_err == xtiledata
guest g0 rdmsr xfd_err           # the guest reads its XFD_ERR (KVM's copy)
kvm g0 exit
expect msr cpu0 xfd_err == 0     # never the host's
kvm g0 enter
guest g0 wrmsr xfd_err = 0       # the guest's #NM handler clears it ...
guest g0 wrmsr xfd = 0           # ... and disarms XFD
guest g0 touch xtiledata
expect kvm g0 xfd_err == 0
kvm g0 stop
expect msr cpu0 xfd == xtiledata # the host task's XFD: tile data armed (no host permission)
expect msr cpu0 xfd_err == 0
