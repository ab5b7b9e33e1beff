/*
 * mof_tables: the built-in MOF class layouts (format: mof_kernel.h).
 *
 * Sources: the MOF classes of the NT Kernel Logger as documented in the
 * Windows SDK's wmicore.mof and on the MSDN "<Class> class" pages
 * (Process_V2_TypeGroup1, Thread_V3_TypeGroup1, Image_Load,
 * DiskIo_TypeGroup1, FileIo_Name, FileIo_Create, FileIo_ReadWrite,
 * TcpIp_TypeGroup1, UdpIp_TypeGroup1, Registry_TypeGroup1, PerfInfo
 * SampledProfile / SysCallEnter / ISR / DPC, StackWalk_Event,
 * EventTrace_Header, SystemConfig_*), and the payloads the KernelTraceControl
 * merge step injects (ImageID, DbgID, FileVersion, SysConfig volume
 * mappings).  Each line was checked against the payload sizes of the corpus
 * traces.
 *
 * Conventions: WmiTime properties (InitialTime, ...) are 64-bit values
 * whatever the pointer size; properties qualified Pointer are "ptr";
 * "TThreadId" and friends keep their MOF names.
 */
#include "mof_kernel.h"

#define G_EVENTTRACE "68fdd900-4a3e-11d1-84f4-0000f80464e3"
#define G_DISKIO "3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c"
#define G_PAGEFAULT "3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c"
#define G_PROCESS "3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c"
#define G_THREAD "3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c"
#define G_FILEIO "90cbdc39-4a3e-11d1-84f4-0000f80464e3"
#define G_TCPIP "9a280ac0-c8e0-11d1-84e2-00c04fb998a2"
#define G_UDPIP "bf3a50c5-a9c9-4988-a005-2df0b7c80f80"
#define G_REGISTRY "ae53722e-c863-11d2-8659-00c04fa321a1"
#define G_SYSCONFIG "01853a65-418f-4f36-aefc-dc0f1d2fd235"
#define G_PERFINFO "ce1dbfb4-137e-4da6-87b0-3f59aa102cbc"
#define G_IMAGE "2cb15d1d-5fc1-11d2-abe1-00a0c911f518"
#define G_STACKWALK "def2fe46-7bd6-4b80-bd94-f57fe20d0ce3"
#define G_IMAGEID "b3e675d7-2554-4f18-830b-2762732560de"
#define G_SYSCONFIGX "9b79ee91-b5fd-41c0-a243-4248e266e9d0"

/* Common field runs. */
#define F_HEADER                                                                              \
    "BufferSize:u32 Version:x32 ProviderVersion:u32 NumberOfProcessors:u32 EndTime:ft "       \
    "TimerResolution:u32 MaxFileSize:u32 LogFileMode:x32 BuffersWritten:u32 StartBuffers:u32 " \
    "PointerSize:u32 EventsLost:u32 CPUSpeed:u32 LoggerName:ptr LogFileName:ptr "              \
    "TimeZoneInformation:bin[176] BootTime:ft PerfFreq:u64 StartTime:ft ReservedFlags:u32 "    \
    "BuffersLost:u32 SessionNameString:wstr LogFileNameString:wstr"
#define F_GROUPMASKS                                                                          \
    "GroupMask1:x32 GroupMask2:x32 GroupMask3:x32 GroupMask4:x32 GroupMask5:x32 "             \
    "GroupMask6:x32 GroupMask7:x32 GroupMask8:x32"
#define F_PERFCTR                                                                             \
    "ProcessId:u32 PageFaultCount:u32 HandleCount:u32 Reserved:u32 PeakVirtualSize:sz "       \
    "PeakWorkingSetSize:sz PeakPagefileUsage:sz QuotaPeakPagedPoolUsage:sz "                   \
    "QuotaPeakNonPagedPoolUsage:sz VirtualSize:sz WorkingSetSize:sz PagefileUsage:sz "        \
    "QuotaPagedPoolUsage:sz QuotaNonPagedPoolUsage:sz PrivatePageCount:sz"
#define F_THREAD_V2                                                                           \
    "ProcessId:u32 TThreadId:u32 StackBase:ptr StackLimit:ptr UserStackBase:ptr "             \
    "UserStackLimit:ptr StartAddr:ptr Win32StartAddr:ptr TebBase:ptr SubProcessTag:x32"
#define F_THREAD_V3                                                                           \
    "ProcessId:u32 TThreadId:u32 StackBase:ptr StackLimit:ptr UserStackBase:ptr "             \
    "UserStackLimit:ptr Affinity:ptr Win32StartAddr:ptr TebBase:ptr SubProcessTag:x32 "       \
    "BasePriority:u8 PagePriority:u8 IoPriority:u8 ThreadFlags:u8"
#define T_PROCESS "1:Start 2:End 3:DCStart 4:DCEnd 39:Defunct"
#define T_THREAD "1:Start 2:End 3:DCStart 4:DCEnd"
#define T_IMAGE "10:Load 2:UnLoad 3:DCStart 4:DCEnd"
#define T_REGISTRY                                                                            \
    "10:Create 11:Open 12:Delete 13:Query 14:SetValue 15:DeleteValue 16:QueryValue "          \
    "17:EnumerateKey 18:EnumerateValueKey 19:QueryMultipleValue 20:SetInformation 21:Flush "  \
    "22:KCBCreate 23:KCBDelete 24:KCBRundownBegin 25:KCBRundownEnd 26:Virtualize 27:Close "   \
    "28:SetSecurity 29:QuerySecurity"
#define F_TCP4 "PID:u32 size:u32 daddr:ip4 saddr:ip4 dport:port sport:port"
#define F_TCP6 "PID:u32 size:u32 daddr:ip6 saddr:ip6 dport:port sport:port"
#define F_TCPCONN                                                                             \
    "mss:u16 sackopt:u16 tsopt:u16 wsopt:u16 rcvwin:u32 rcvwinscale:i16 sndwinscale:i16 "     \
    "seqnum:u32 connid:ptr"

const struct mof_class mof_classes[] = {
    /* ---- EventTrace: the logfile header and other header-buffer records ---- */
    {G_EVENTTRACE, "EventTrace", 0, "0:Header", F_HEADER},
    {G_EVENTTRACE, "EventTrace", 1, "0:Header", F_HEADER},
    {G_EVENTTRACE, "EventTrace", 2, "0:Header", F_HEADER},
    {G_EVENTTRACE, "EventTrace", 0, "5:Extension 32:EndExtension", F_GROUPMASKS},
    {G_EVENTTRACE, "EventTrace", 2, "5:Extension 32:EndExtension",
     F_GROUPMASKS " KernelEventVersion:u32"},
    {G_EVENTTRACE, "EventTrace", 0, "8:RDComplete", ""},
    {G_EVENTTRACE, "EventTrace", 2, "8:RDComplete", ""},
    {G_EVENTTRACE, "EventTrace", 2, "64:DbgIdRSDS", "Guid:guid Age:u32 PdbName:str"},
    {G_EVENTTRACE, "EventTrace", 2, "66:BuildInfo", "BuildString:str"},
    {G_EVENTTRACE, "EventTrace", 2, "67:ProviderBinaryPath",
     "GuidCount:u32 Guid:guid@GuidCount BinaryPath:wstr"},
    {G_EVENTTRACE, "EventTrace", 2, "80:PartitionInfoExtension",
     "EventVersion:u16 Reserved:u16 PartitionType:u32 QpcOffsetFromRoot:i64 PartitionId:guid "
     "ParentId:guid"},

    /* ---- Process ---- */
    {G_PROCESS, "Process", 0, "1:Start 2:End 3:DCStart 4:DCEnd",
     "ProcessId:ptr ParentId:ptr UserSID:sid ImageFileName:str"},
    {G_PROCESS, "Process", 1, "1:Start 2:End 3:DCStart 4:DCEnd",
     "PageDirectoryBase:ptr ProcessId:u32 ParentId:u32 SessionId:u32 ExitStatus:i32 "
     "UserSID:sid ImageFileName:str"},
    {G_PROCESS, "Process", 2, T_PROCESS,
     "UniqueProcessKey:ptr ProcessId:u32 ParentId:u32 SessionId:u32 ExitStatus:i32 "
     "UserSID:sid ImageFileName:str CommandLine:wstr"},
    {G_PROCESS, "Process", 3, T_PROCESS,
     "UniqueProcessKey:ptr ProcessId:u32 ParentId:u32 SessionId:u32 ExitStatus:i32 "
     "DirectoryTableBase:ptr UserSID:sid ImageFileName:str CommandLine:wstr"},
    {G_PROCESS, "Process", 4, T_PROCESS,
     "UniqueProcessKey:ptr ProcessId:u32 ParentId:u32 SessionId:u32 ExitStatus:i32 "
     "DirectoryTableBase:ptr Flags:x32 UserSID:sid ImageFileName:str CommandLine:wstr "
     "PackageFullName:wstr ApplicationId:wstr"},
    {G_PROCESS, "Process", 5, "39:Defunct",
     "UniqueProcessKey:ptr ProcessId:u32 ParentId:u32 SessionId:u32 ExitStatus:i32 "
     "DirectoryTableBase:ptr Flags:x32 UserSID:sid ImageFileName:str CommandLine:wstr "
     "PackageFullName:wstr ApplicationId:wstr ExitTime:ft"},
    {G_PROCESS, "Process", 2, "11:Terminate", "ProcessId:u32"},
    {G_PROCESS, "Process", 2, "32:PerfCtr 33:PerfCtrRundown", F_PERFCTR},
    {G_PROCESS, "Process", 2, "35:InSwap", "DirectoryTableBase:ptr ProcessId:u32"},
    {G_PROCESS, "Process", 2,
     "48:WakeChargeUser 49:WakeChargeExecution 50:WakeChargeKernel "
     "51:WakeChargeInstrumentation 52:WakeChargePreserveProcess 64:WakeReleaseUser "
     "65:WakeReleaseExecution 66:WakeReleaseKernel 67:WakeReleaseInstrumentation "
     "68:WakeReleasePreserveProcess 80:WakeDropUser 81:WakeDropExecution 82:WakeDropKernel "
     "83:WakeDropInstrumentation 84:WakeDropPreserveProcess",
     "Object:ptr Tag:ptr ProcessId:u32 Count:u32"},
    {G_PROCESS, "Process", 2,
     "96:WakeEventUser 97:WakeEventExecution 98:WakeEventKernel 99:WakeEventInstrumentation",
     "Object:ptr"},

    /* ---- Thread ---- */
    {G_THREAD, "Thread", 0, T_THREAD, "TThreadId:u32 ProcessId:u32"},
    {G_THREAD, "Thread", 1, "1:Start 3:DCStart 4:DCEnd",
     "ProcessId:u32 TThreadId:u32 StackBase:ptr StackLimit:ptr UserStackBase:ptr "
     "UserStackLimit:ptr StartAddr:ptr Win32StartAddr:ptr WaitMode:i8"},
    {G_THREAD, "Thread", 1, "2:End", "ProcessId:u32 TThreadId:u32"},
    {G_THREAD, "Thread", 2, T_THREAD, F_THREAD_V2},
    {G_THREAD, "Thread", 3, T_THREAD, F_THREAD_V3},
    {G_THREAD, "Thread", 4, T_THREAD, F_THREAD_V3 " ThreadName:wstr"},
    {G_THREAD, "Thread", 2, "36:CSwitch",
     "NewThreadId:u32 OldThreadId:u32 NewThreadPriority:i8 OldThreadPriority:i8 "
     "PreviousCState:u8 SpareByte:i8 OldThreadWaitReason:i8 OldThreadWaitMode:i8 "
     "OldThreadState:i8 OldThreadWaitIdealProcessor:i8 NewThreadWaitTime:u32 Reserved:u32"},
    {G_THREAD, "Thread", 3, "36:CSwitch",
     "NewThreadId:u32 OldThreadId:u32 NewThreadPriority:i8 OldThreadPriority:i8 "
     "PreviousCState:u8 SpareByte:i8 OldThreadWaitReason:i8 ThreadFlags:i8 "
     "OldThreadState:i8 OldThreadWaitIdealProcessor:i8 NewThreadWaitTime:u32 Reserved:u32"},
    {G_THREAD, "Thread", 2, "37:CompCS", ""},
    {G_THREAD, "Thread", 2, "50:ReadyThread",
     "TThreadId:u32 AdjustReason:i8 AdjustIncrement:i8 Flag:i8 Reserved:i8"},
    {G_THREAD, "Thread", 2, "53:ThreadAffinity",
     "Affinity:ptr ThreadId:u32 Group:u16 Reserved:u16"},
    {G_THREAD, "Thread", 2, "57:WorkerThread",
     "TThreadId:u32 StartTime:u64 ThreadRoutine:ptr"},
    {G_THREAD, "Thread", 3, "48:SetPriority 49:SetBasePriority 51:SetPagePriority 52:SetIoPriority",
     "ThreadId:u32 OldPriority:u8 NewPriority:u8 Reserved:u16"},
    {G_THREAD, "Thread", 2, "72:SetName", "ProcessId:u32 ThreadId:u32 ThreadName:wstr"},

    /* ---- Image ---- */
    {G_IMAGE, "Image", 0, "10:Load", "BaseAddress:ptr ModuleSize:u32 ImageFileName:wstr"},
    {G_IMAGE, "Image", 1, "10:Load",
     "ImageBase:ptr ImageSize:ptr ProcessId:u32 FileName:wstr"},
    {G_IMAGE, "Image", 2, T_IMAGE,
     "ImageBase:ptr ImageSize:ptr ProcessId:u32 ImageChecksum:x32 TimeDateStamp:u32 "
     "Reserved0:u32 DefaultBase:ptr Reserved1:u32 Reserved2:u32 Reserved3:u32 Reserved4:u32 "
     "FileName:wstr"},
    {G_IMAGE, "Image", 3, T_IMAGE,
     "ImageBase:ptr ImageSize:ptr ProcessId:u32 ImageChecksum:x32 TimeDateStamp:u32 "
     "SignatureLevel:u8 SignatureType:u8 Reserved0:u16 DefaultBase:ptr Reserved1:u32 "
     "Reserved2:u32 Reserved3:u32 Reserved4:u32 FileName:wstr"},
    {G_IMAGE, "Image", 2, "33:KernelBase", "ImageBase:ptr"},
    {G_IMAGE, "Image", 2, "34:HypercallPage", "HypercallPageVa:ptr"},

    /* ---- DiskIo ---- */
    {G_DISKIO, "DiskIo", 0, "10:Read 11:Write",
     "DiskNumber:u32 IrpFlags:x32 TransferSize:u32 Reserved:u32 ByteOffset:u64 FileObject:ptr"},
    {G_DISKIO, "DiskIo", 1, "10:Read 11:Write",
     "DiskNumber:u32 IrpFlags:x32 TransferSize:u32 ResponseTime:u32 ByteOffset:u64 "
     "FileObject:ptr HighResResponseTime:u64"},
    {G_DISKIO, "DiskIo", 2, "10:Read 11:Write",
     "DiskNumber:u32 IrpFlags:x32 TransferSize:u32 Reserved:u32 ByteOffset:u64 FileObject:ptr "
     "Irp:ptr HighResResponseTime:u64"},
    {G_DISKIO, "DiskIo", 3, "10:Read 11:Write 55:OpticalRead 56:OpticalWrite",
     "DiskNumber:u32 IrpFlags:x32 TransferSize:u32 Reserved:u32 ByteOffset:u64 FileObject:ptr "
     "Irp:ptr HighResResponseTime:u64 IssuingThreadId:u32"},
    {G_DISKIO, "DiskIo", 2, "12:ReadInit 13:WriteInit 15:FlushInit", "Irp:ptr"},
    {G_DISKIO, "DiskIo", 3,
     "12:ReadInit 13:WriteInit 15:FlushInit 58:OpticalReadInit 59:OpticalWriteInit "
     "60:OpticalFlushInit",
     "Irp:ptr IssuingThreadId:u32"},
    {G_DISKIO, "DiskIo", 2, "14:FlushBuffers",
     "DiskNumber:u32 IrpFlags:x32 HighResResponseTime:u64 Irp:ptr"},
    {G_DISKIO, "DiskIo", 3, "14:FlushBuffers 57:OpticalFlushBuffers",
     "DiskNumber:u32 IrpFlags:x32 HighResResponseTime:u64 Irp:ptr IssuingThreadId:u32"},
    {G_DISKIO, "DiskIo", 2, "34:DrvMjFnCall",
     "MajorFunction:u32 MinorFunction:u32 RoutineAddr:ptr FileObject:ptr Irp:ptr "
     "UniqMatchId:u32"},
    {G_DISKIO, "DiskIo", 2, "35:DrvMjFnRet 53:DrvComplReqRet", "Irp:ptr UniqMatchId:u32"},
    {G_DISKIO, "DiskIo", 2, "37:DrvComplRout", "Routine:ptr IrpPtr:ptr UniqMatchId:u32"},
    {G_DISKIO, "DiskIo", 2, "52:DrvComplReq", "RoutineAddr:ptr Irp:ptr UniqMatchId:u32"},

    /* ---- PageFault ---- */
    {G_PAGEFAULT, "PageFault", 2,
     "10:TransitionFault 11:DemandZeroFault 12:CopyOnWrite 13:GuardPageFault "
     "14:HardPageFault 15:AccessViolation",
     "VirtualAddress:ptr ProgramCounter:ptr"},
    {G_PAGEFAULT, "PageFault", 2, "32:HardFault",
     "InitialTime:u64 ReadOffset:u64 VirtualAddress:ptr FileObject:ptr TThreadId:u32 "
     "ByteCount:u32"},
    {G_PAGEFAULT, "PageFault", 2, "98:VirtualAlloc 99:VirtualFree",
     "BaseAddress:ptr RegionSize:sz ProcessId:u32 Flags:x32"},
    {G_PAGEFAULT, "PageFault", 2, "105:ImageLoadBacked",
     "FileObject:ptr DeviceChar:x32 FileChar:u16 LoadFlags:x16"},

    /* ---- FileIo ---- */
    {G_FILEIO, "FileIo", 0, "0:Name", "FileObject:ptr FileName:wstr"},
    {G_FILEIO, "FileIo", 1, "0:Name 32:FileCreate", "FileObject:ptr FileName:wstr"},
    {G_FILEIO, "FileIo", 2, "0:Name 32:FileCreate 35:FileDelete 36:FileRundown",
     "FileObject:ptr FileName:wstr"},
    {G_FILEIO, "FileIo", 3, "0:Name 32:FileCreate 35:FileDelete 36:FileRundown",
     "FileObject:ptr FileName:wstr"},
    {G_FILEIO, "FileIo", 2, "64:Create",
     "IrpPtr:ptr TTID:ptr FileObject:ptr CreateOptions:x32 FileAttributes:x32 "
     "ShareAccess:x32 OpenPath:wstr"},
    {G_FILEIO, "FileIo", 3, "64:Create",
     "IrpPtr:ptr FileObject:ptr TTID:u32 CreateOptions:x32 FileAttributes:x32 "
     "ShareAccess:x32 OpenPath:wstr"},
    {G_FILEIO, "FileIo", 2, "65:Cleanup 66:Close 73:Flush",
     "IrpPtr:ptr TTID:ptr FileObject:ptr FileKey:ptr"},
    {G_FILEIO, "FileIo", 3, "65:Cleanup 66:Close 73:Flush",
     "IrpPtr:ptr FileObject:ptr FileKey:ptr TTID:u32"},
    {G_FILEIO, "FileIo", 2, "67:Read 68:Write",
     "Offset:u64 IrpPtr:ptr TTID:ptr FileObject:ptr FileKey:ptr IoSize:u32 IoFlags:x32"},
    {G_FILEIO, "FileIo", 3, "67:Read 68:Write",
     "Offset:u64 IrpPtr:ptr FileObject:ptr FileKey:ptr TTID:u32 IoSize:u32 IoFlags:x32"},
    {G_FILEIO, "FileIo", 2, "69:SetInfo 70:Delete 71:Rename 74:QueryInfo 75:FSControl",
     "IrpPtr:ptr TTID:ptr FileObject:ptr FileKey:ptr ExtraInfo:ptr InfoClass:u32"},
    {G_FILEIO, "FileIo", 3, "69:SetInfo 70:Delete 71:Rename 74:QueryInfo 75:FSControl",
     "IrpPtr:ptr FileObject:ptr FileKey:ptr ExtraInfo:ptr TTID:u32 InfoClass:u32"},
    {G_FILEIO, "FileIo", 2, "72:DirEnum 77:DirNotify",
     "IrpPtr:ptr TTID:ptr FileObject:ptr FileKey:ptr Length:u32 InfoClass:u32 FileIndex:u32 "
     "FileName:wstr"},
    {G_FILEIO, "FileIo", 3, "72:DirEnum 77:DirNotify",
     "IrpPtr:ptr FileObject:ptr FileKey:ptr TTID:u32 Length:u32 InfoClass:u32 FileIndex:u32 "
     "FileName:wstr"},
    {G_FILEIO, "FileIo", 2, "76:OperationEnd", "IrpPtr:ptr ExtraInfo:ptr NtStatus:x32"},
    {G_FILEIO, "FileIo", 3, "79:DeletePath 80:RenamePath 81:SetLinkPath",
     "IrpPtr:ptr FileObject:ptr FileKey:ptr ExtraInfo:ptr TTID:u32 InfoClass:u32 "
     "FileName:wstr"},
    {G_FILEIO, "FileIo", 2, "37:MapFile 38:UnmapFile 39:MapFileDCStart 40:MapFileDCEnd",
     "ViewBase:ptr FileObject:ptr MiscInfo:u64 ViewSize:sz ProcessId:u32"},

    /* ---- TcpIp (addresses and ports in network byte order) ---- */
    {G_TCPIP, "TcpIp", 1, "10:Send", F_TCP4 " startime:u32 endtime:u32 connid:ptr seqnum:u32"},
    {G_TCPIP, "TcpIp", 1,
     "11:Recv 13:Disconnect 14:Retransmit 16:Reconnect 18:TCPCopy 19:ARPCopy 20:FullACK "
     "21:PartACK 22:DupACK",
     F_TCP4 " connid:ptr seqnum:u32"},
    {G_TCPIP, "TcpIp", 2, "10:SendIPV4", F_TCP4 " startime:u32 endtime:u32 seqnum:u32 connid:ptr"},
    {G_TCPIP, "TcpIp", 2,
     "11:RecvIPV4 13:DisconnectIPV4 14:RetransmitIPV4 16:ReconnectIPV4 18:TCPCopyIPV4",
     F_TCP4 " seqnum:u32 connid:ptr"},
    {G_TCPIP, "TcpIp", 2, "12:ConnectIPV4 15:AcceptIPV4", F_TCP4 " " F_TCPCONN},
    {G_TCPIP, "TcpIp", 2, "17:Fail", "Proto:u16 FailureCode:u16"},
    {G_TCPIP, "TcpIp", 2, "26:SendIPV6", F_TCP6 " startime:u32 endtime:u32 seqnum:u32 connid:ptr"},
    {G_TCPIP, "TcpIp", 2,
     "27:RecvIPV6 29:DisconnectIPV6 30:RetransmitIPV6 32:ReconnectIPV6 34:TCPCopyIPV6",
     F_TCP6 " seqnum:u32 connid:ptr"},
    {G_TCPIP, "TcpIp", 2, "28:ConnectIPV6 31:AcceptIPV6", F_TCP6 " " F_TCPCONN},

    /* ---- UdpIp ---- */
    {G_UDPIP, "UdpIp", 1, "10:Send 11:Recv", F_TCP4},
    {G_UDPIP, "UdpIp", 2, "10:SendIPV4 11:RecvIPV4", F_TCP4 " seqnum:u32 connid:ptr"},
    {G_UDPIP, "UdpIp", 2, "26:SendIPV6 27:RecvIPV6", F_TCP6 " seqnum:u32 connid:ptr"},
    {G_UDPIP, "UdpIp", 2, "17:Fail", "Proto:u16 FailureCode:u16"},

    /* ---- Registry ---- */
    {G_REGISTRY, "Registry", 2, T_REGISTRY,
     "InitialTime:i64 Status:x32 Index:u32 KeyHandle:ptr KeyName:wstr"},
    {G_REGISTRY, "Registry", 2, "34:Counters",
     "Counter1:u64 Counter2:u64 Counter3:u64 Counter4:u64 Counter5:u64 Counter6:u64 "
     "Counter7:u64 Counter8:u64 Counter9:u64 Counter10:u64 Counter11:u64"},
    {G_REGISTRY, "Registry", 2, "35:Config", "CurrentControlSet:u32"},
    {G_REGISTRY, "Registry", 2, "36:HiveInit",
     "Hive:ptr OperationType:u32 PoolTag:x32 Size:u32 FileName:wstr"},
    {G_REGISTRY, "Registry", 2, "37:HiveDestroy", "Hive:ptr FileName:wstr Path:wstr"},
    {G_REGISTRY, "Registry", 2, "38:HiveLink", "Hive:ptr Path:wstr"},
    {G_REGISTRY, "Registry", 2, "40:HiveDirty", "Hive:ptr LinkPath:wstr DirtyReason:u32"},
    {G_REGISTRY, "Registry", 2, "48:ChangeNotify",
     "Notification:ptr KeyHandle:ptr Type:u8 WatchSubtree:u8 Primary:u8"},

    /* ---- PerfInfo ---- */
    {G_PERFINFO, "PerfInfo", 0, "34:Mark", "Message:str"},
    {G_PERFINFO, "PerfInfo", 2, "46:SampleProf",
     "InstructionPointer:ptr ThreadId:u32 Count:u16 Reserved:u16"},
    {G_PERFINFO, "PerfInfo", 2, "47:PmcCounterProf",
     "InstructionPointer:ptr ThreadId:u32 ProfileSource:u16 Reserved:u16"},
    {G_PERFINFO, "PerfInfo", 2, "48:PmcCtrConfig", "CounterCount:u32 CounterName:wstr"},
    {G_PERFINFO, "PerfInfo", 2, "50:ISR-MSI",
     "InitialTime:u64 Routine:ptr ReturnValue:u8 Vector:u16 Reserved:u8 MessageNumber:u32"},
    {G_PERFINFO, "PerfInfo", 2, "51:SysClEnter", "SysCallAddress:ptr"},
    {G_PERFINFO, "PerfInfo", 2, "52:SysClExit", "SysCallNtStatus:x32"},
    {G_PERFINFO, "PerfInfo", 2, "58:DebuggerEnabled", ""},
    {G_PERFINFO, "PerfInfo", 2, "66:ThreadedDPC 68:DPC 69:TimerDPC 70:IOTimer",
     "InitialTime:u64 Routine:ptr"},
    {G_PERFINFO, "PerfInfo", 2, "67:ISR 95:ISR-PASS",
     "InitialTime:u64 Routine:ptr ReturnValue:u8 Vector:u16 Reserved:u8"},
    {G_PERFINFO, "PerfInfo", 2, "72:SetInterval 73:CollectionStart 74:CollectionEnd",
     "Source:u32 NewInterval:u32 OldInterval:u32"},
    {G_PERFINFO, "PerfInfo", 3, "72:SetInterval 73:CollectionStart 74:CollectionEnd",
     "Source:u32 NewInterval:u32 OldInterval:u32 SourceName:wstr"},
    {G_PERFINFO, "PerfInfo", 2, "92:ISR-Unexpected", "Vector:u16"},
    {G_PERFINFO, "PerfInfo", 2, "93:IoStartTimer 94:IoStopTimer",
     "DeviceObject:ptr TimerRoutine:ptr"},

    /* ---- StackWalk: frames run to the end of the event ---- */
    {G_STACKWALK, "StackWalk", 2, "32:Stack",
     "EventTimeStamp:u64 StackProcess:u32 StackThread:u32 Stack:ptr@*"},
    {G_STACKWALK, "StackWalk", 2, "34:KeyCreate 35:KeyDelete 36:KeyRundown",
     "Key:ptr StackFrame:ptr@*"},
    {G_STACKWALK, "StackWalk", 2, "37:StackKeyKernel 38:StackKeyUser",
     "EventTimeStamp:u64 StackProcess:u32 StackThread:u32 StackKey:ptr"},

    /* ---- SystemConfig (hardware configuration rundown) ---- */
    {G_SYSCONFIG, "SystemConfig", 2, "10:CPU",
     "MHz:u32 NumberOfProcessors:u32 MemSize:u32 PageSize:u32 AllocationGranularity:u32 "
     "ComputerName:wstr[256] DomainName:wstr[134] HyperThreadingFlag:ptr"},
    {G_SYSCONFIG, "SystemConfig", 3, "10:CPU",
     "MHz:u32 NumberOfProcessors:u32 MemSize:u32 PageSize:u32 AllocationGranularity:u32 "
     "ComputerName:wstr[256] DomainName:wstr[134] HyperThreadingFlag:ptr "
     "HighestUserAddress:ptr ProcessorArchitecture:u16 ProcessorLevel:u16 "
     "ProcessorRevision:u16 PaeEnabled:u8 NxEnabled:u8 MemorySpeed:u32"},
    {G_SYSCONFIG, "SystemConfig", 2, "11:PhyDisk",
     "DiskNumber:u32 BytesPerSector:u32 SectorsPerTrack:u32 TracksPerCylinder:u32 "
     "Cylinders:u64 SCSIPort:u32 SCSIPath:u32 SCSITarget:u32 SCSILun:u32 "
     "Manufacturer:wstr[256] PartitionCount:u32 WriteCacheEnabled:u8 Pad:u8 "
     "BootDriveLetter:wstr[3] Spare:wstr[2]"},
    {G_SYSCONFIG, "SystemConfig", 2, "12:LogDisk",
     "StartOffset:u64 PartitionSize:u64 DiskNumber:u32 Size:u32 DriveType:u32 "
     "DriveLetterString:wstr[4] Pad1:u32 PartitionNumber:u32 SectorsPerCluster:u32 "
     "BytesPerSector:u32 Pad2:u32 NumberOfFreeClusters:i64 TotalNumberOfClusters:i64 "
     "FileSystem:wstr[16] VolumeExt:u32 Pad3:u32"},
    {G_SYSCONFIG, "SystemConfig", 2, "13:NIC",
     "PhysicalAddr:x64 PhysicalAddrLen:u32 Ipv4Index:u32 Ipv6Index:u32 NICDescription:wstr "
     "IpAddresses:wstr DnsServerAddresses:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "14:Video",
     "MemorySize:u32 XResolution:u32 YResolution:u32 BitsPerPixel:u32 VRefresh:u32 "
     "ChipType:wstr[256] DACType:wstr[256] AdapterString:wstr[256] BiosString:wstr[256] "
     "DeviceId:wstr[256] StateFlags:x32"},
    {G_SYSCONFIG, "SystemConfig", 2, "15:Services",
     "ProcessId:u32 ServiceState:u32 SubProcessTag:x32 ServiceName:wstr DisplayName:wstr "
     "ProcessName:wstr"},
    {G_SYSCONFIG, "SystemConfig", 3, "15:Services",
     "ProcessId:u32 ServiceState:u32 SubProcessTag:x32 ServiceName:wstr DisplayName:wstr "
     "ProcessName:wstr LoadOrderGroup:wstr SvchostGroup:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "16:Power",
     "S1:u8 S2:u8 S3:u8 S4:u8 S5:u8 Pad1:u8 Pad2:u8 Pad3:u8"},
    {G_SYSCONFIG, "SystemConfig", 2, "17:Network",
     "TcbTablePartitions:u32 MaxHashTableSize:u32 MaxUserPort:u32 TcpTimedWaitDelay:u32"},
    {G_SYSCONFIG, "SystemConfig", 2, "18:OpticalDisk",
     "DiskNumber:u16 BusType:u16 DeviceType:u16 MediaType:u16 StartingOffset:u64 Size:u64 "
     "NumberOfFreeBlocks:u64 TotalNumberOfBlocks:u64 NextWritableAddress:u64 "
     "NumberOfSessions:u32 NumberOfTracks:u32 BytesPerSector:u32 DiscStatus:u16 "
     "LastSessionStatus:u16 DriveLetter:wstr FileSystemName:wstr DeviceName:str "
     "ManufacturerName:str"},
    {G_SYSCONFIG, "SystemConfig", 2, "21:IRQ",
     "IRQAffinity:x64 IRQNum:u32 DeviceDescriptionLen:u32 DeviceDescription:wstr"},
    {G_SYSCONFIG, "SystemConfig", 3, "21:IRQ",
     "IRQAffinity:x64 IRQGroup:u16 Reserved:u16 IRQNum:u32 DeviceDescriptionLen:u32 "
     "DeviceDescription:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "22:PnP",
     "IDLength:u32 DescriptionLength:u32 FriendlyNameLength:u32 DeviceID:wstr "
     "DeviceDescription:wstr FriendlyName:wstr"},
    {G_SYSCONFIG, "SystemConfig", 3, "22:PnP",
     "IDLength:u32 DescriptionLength:u32 FriendlyNameLength:u32 DeviceID:wstr "
     "DeviceDescription:wstr FriendlyName:wstr PdoName:wstr"},
    {G_SYSCONFIG, "SystemConfig", 4, "22:PnP",
     "ClassGuid:guid UpperFiltersCount:u32 LowerFiltersCount:u32 DeviceID:wstr "
     "DeviceDescription:wstr FriendlyName:wstr PdoName:wstr ServiceName:wstr "
     "UpperFilters:wstr LowerFilters:wstr"},
    {G_SYSCONFIG, "SystemConfig", 5, "22:PnP",
     "ClassGuid:guid UpperFiltersCount:u32 LowerFiltersCount:u32 DevStatus:x32 "
     "DevProblem:u32 DeviceID:wstr DeviceDescription:wstr FriendlyName:wstr PdoName:wstr "
     "ServiceName:wstr UpperFilters:wstr LowerFilters:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "23:IDEChannel",
     "TargetId:u32 DeviceType:u32 DeviceTimingMode:x32 LocationInformationLen:u32 "
     "LocationInformation:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "24:NumaNode", "NodeCount:u32 NodeMap:x64"},
    {G_SYSCONFIG, "SystemConfig", 2, "25:Platform",
     "SystemManufacturer:wstr SystemProductName:wstr BiosDate:wstr BiosVersion:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "26:ProcessorGroup", "GroupCount:u32 Affinity:ptr"},
    {G_SYSCONFIG, "SystemConfig", 2, "27:ProcessorNumber",
     "ProcessorCount:u32 ProcessorNumber:u32"},
    {G_SYSCONFIG, "SystemConfig", 2, "28:DPI", "MachineDPI:u32 UserDPI:u32"},
    {G_SYSCONFIG, "SystemConfig", 2, "29:CodeIntegrity", "CodeIntegrityInfo:x32"},
    {G_SYSCONFIG, "SystemConfig", 2, "30:TelemetryConfiguration", "MachineId:guid"},
    {G_SYSCONFIG, "SystemConfig", 2, "33:DeviceFamily",
     "UAPInfo:x64 DeviceFamily:u32 DeviceForm:u32"},
    {G_SYSCONFIG, "SystemConfig", 2, "34:FlightIds", "UpdateId:wstr FlightIdList:wstr"},
    {G_SYSCONFIG, "SystemConfig", 2, "35:Processors",
     "ProcessorIndex:u32 FeatureSet:x32 ProcessorSpeed:u32 ProcessorName:wstr[64] "
     "VendorIdentifier:wstr[16] ProcessorIdentifier:wstr[128]"},

    /* ---- KernelTraceControl: image identification added when traces are merged ---- */
    {G_IMAGEID, "ImageID", 2, "0:Info",
     "ImageBase:ptr ImageSize:ptr ProcessId:u32 TimeDateStamp:u32 OriginalFileName:wstr"},
    {G_IMAGEID, "ImageID", 2, "32:None", ""},
    {G_IMAGEID, "ImageID", 2, "36:DbgID_RSDS 37:DbgID_ILRSDS",
     "ImageBase:ptr ProcessId:u32 GuidSig:guid Age:u32 PdbFileName:str"},
    {G_IMAGEID, "ImageID", 2, "38:DbgPPDB",
     "ImageBase:ptr ProcessId:u32 TimeDateStamp:u32 MajorVersion:u16 MinorVersion:u16"},
    {G_IMAGEID, "ImageID", 1, "40:DbgDeterm", "ImageBase:ptr ProcessId:u32"},
    {G_IMAGEID, "ImageID", 0, "64:FileVersion",
     "ImageSize:u32 TimeDateStamp:u32 OrigFileName:wstr FileDescription:wstr "
     "FileVersion:wstr BinFileVersion:wstr VerLanguage:wstr ProductName:wstr "
     "CompanyName:wstr ProductVersion:wstr FileId:wstr ProgramId:wstr"},

    /* ---- SysConfig: system paths and volume mappings added when traces are merged ---- */
    {G_SYSCONFIGX, "SysConfig", 0, "32:BuildInfo",
     "InstallDate:ft BuildLab:wstr ProductName:wstr"},
    {G_SYSCONFIGX, "SysConfig", 0, "33:SystemPaths",
     "SystemDirectory:wstr SystemWindowsDirectory:wstr"},
    {G_SYSCONFIGX, "SysConfig", 0, "34:UnknownVolume", "Value:wstr"},
    {G_SYSCONFIGX, "SysConfig", 0, "35:VolumeMapping", "NtPath:wstr DosPath:wstr"},
};

const size_t mof_nclasses = sizeof mof_classes / sizeof mof_classes[0];
