# Question: KVM_GET_XSAVE2 / KVM_SET_XSAVE2 (seed 003, linux-design.md 8): the guest
#   fpstate through the standard-format user buffer.
# Answer:
#   - KVM_CAP_XSAVE2 is max(4096, the standard size of KVM's supported XCR0
#     under the group's guest permission); without AMX permission: 4096;
#   - GET: XSTATE_BV limited to the guest's CPUID features, never supervisor
#     state (the guest's CET_S stays in the kernel), PKRU from the vCPU;
#   - SET validates before it changes anything: XSTATE_BV with a supervisor
#     feature or one the guest buffer has no room for, a nonzero XCOMP_BV,
#     reserved MXCSR bits -> -EINVAL; a short buffer -> -EFAULT;
#   - KVM's odd PKRU rule: with the PKRU bit clear in XSTATE_BV the vCPU keeps
#     its PKRU (ptrace would set 0);
#   - both ioctls wait for KVM_RUN to return (-EBUSY here);
#   - the next KVM_RUN gives the guest what was set.
machine cpu=intel-sapphire-rapids cpus=1
thread vmm

vcpu g0 in vmm
expect kvm g0 cap-xsave2 == 4096
expect kvm g0 uabi-size == 4096
kvm g0 run
guest g0 xsetbv x87|sse|avx|pkru
guest g0 write ymm3 = fill:0x5a
guest g0 write pkru = 0x55555550
guest g0 wrmsr xss = cet_s
guest g0 wrmsr pl0_ssp = 0x7000
kvm g0 exit
kvm g0 get-xsave                 # inside KVM_RUN
expect kvm g0 errno == EBUSY
kvm g0 stop
expect kvm g0 pkru == 0x55555550 # KVM read it back at the VM exit

kvm g0 get-xsave
expect kvm g0 errno == 0
expect xsave g0 xstate_bv == sse|avx|pkru
expect xsave g0 ymm3 == fill:0x5a
expect xsave g0 pkru == 0x55555550

kvm g0 set-xsave ymm3=fill:0x77
expect kvm g0 errno == 0
kvm g0 set-xsave xstate_bv=x87|sse|avx|cet_s
expect kvm g0 errno == EINVAL    # supervisor state never comes from user space
kvm g0 set-xsave xstate_bv=x87|sse|xtiledata
expect kvm g0 errno == EINVAL    # not in the guest buffer (no AMX permission)
kvm g0 set-xsave xcomp_bv=0x8000000000000003
expect kvm g0 errno == EINVAL
kvm g0 set-xsave mxcsr=0xffffffff
expect kvm g0 errno == EINVAL
kvm g0 set-xsave len=1024
expect kvm g0 errno == EFAULT
kvm g0 set-xsave xstate_bv=x87|sse|avx pkru=0x4
expect kvm g0 errno == 0
expect kvm g0 pkru == 0x55555550 # PKRU bit clear: KVM keeps the vCPU's PKRU

kvm g0 run
expect guest g0 ymm3 == fill:0x5a   # the last successful SET: the GET image, PKRU left alone
expect guest g0 pkru == 0x55555550
guest g0 rdmsr pl0_ssp           # CET_S survived: no user buffer touches it
kvm g0 stop
