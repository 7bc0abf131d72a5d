/**
 * ukl-trim: derive the smallest Linux kernel configuration that still runs a given application.
 * The library is the product; the CLI (`ukl-trim`) is a thin layer over it.
 */
export * from './kconfig/index.js';
export { resolveKernelTree, kernelVersionOf, isKernelTree, KernelTreeError, type KernelTree, type ResolveKernelTreeOptions, type KernelTreeProgress } from './kernel/tree.js';
export { writeFileAtomic } from './util/fs.js';
export { UklTrimError, isUserError, exitCodeOf, type ErrorLocation, type ErrorDetails } from './util/errors.js';
export {
  deriveSyscallMap,
  enabledUnder,
  readSyscallTable,
  builtSyscallsFromSystemMap,
  supportedSyscallArches,
  SyscallMapSchema,
  SyscallMapError,
  type SyscallMap,
  type SyscallInfo,
  type SyscallTableEntry,
} from './kernel/syscalls.js';
export { buildKernel, KernelBuildError, type KernelBuildOptions, type KernelBuildResult } from './build/kernel-build.js';
export type { BuildSeed } from './build/build-seed.js';
export { writeCpioNewc, CpioError } from './build/cpio.js';
export { buildInitramfs, checkStaticExecutable, InitramfsError, type InitramfsInclude } from './build/initramfs.js';
export { bootKernel, BootReportSchema, type BootReport } from './build/qemu.js';
export { parseElf, readElfFile, ElfError } from './lto/elf.js';
export { parseArchive, readArchiveFile, ArchiveError } from './lto/archive.js';
export { analyzeStaticExecutable, analyzeDynamicExecutable, AnalysisError, AnalysisReportSchema, type AnalysisReport } from './callgraph/analyze.js';
export { sharedObjectsOf, type SharedObject } from './lto/shared-objects.js';
export { buildUklArchive, UklError } from './lto/ukl-archive.js';
export { detectUklSupport } from './kernel/ukl-support.js';
export { uklConfigSettings } from './build/ukl.js';
export { uklKernelConfig, UKL_TRIGGER_PATH } from './build/ukl-kernel.js';
export {
  buildImage,
  buildUklImage,
  ImageBuildError,
  BuildReportSchema,
  type BuildReport,
  type BuildImageParams,
  type BuildUklImageParams,
  type BuildHooks,
} from './build/image.js';
export { observeRun, observeEchoServer, observeWorkload, syscallsInStraceLog, ObserveError } from './callgraph/observe.js';
export { summarizeLibc, summaryEntry, summaryPath, resolveLibcArchive, LibcSummarySchema, type LibcSummary } from './callgraph/libc-summary.js';
export { analyzeApplication } from './callgraph/analyze.js';
export { callGraphOf, shortestCallPath, type AppCallGraph, type FunctionLabel, type CallGraphLabel } from './callgraph/graphlib.js';
export { linkForAnalysis, isUklArchive, LinkError, type LinkOptions, type LinkedApp } from './lto/link.js';
export { minimizeConfig, MinimizeError, MinimizeReportSchema, type MinimizeOptions, type MinimizeResult, type MinimizeReport } from './minimize/minimize.js';
export { RequirementSchema, requirementsFromAnalysis, SOCKET_FAMILY_OPTIONS, PSEUDO_FILE_OPTIONS, type Requirement } from './minimize/requirements.js';
export { PROFILES, profileRequirements, type BootProfile } from './minimize/profiles.js';
export { deriveCodeWeights, CodeWeightsSchema, type CodeWeights } from './minimize/weights.js';
export { ReasonSchema, type Reason } from './minimize/reasons.js';
export { writeKernelReport, collectReportData, type KernelReportOptions } from './report/report.js';
export { collectKernelSizes, KernelSizesSchema, type KernelSizes, type SizeGroup } from './report/sizes.js';
export { renderReportHtml } from './report/render.js';
export { ReportDataSchema, type ReportData } from './report/data.js';
export { readMinimizeOutput, parseMinimizeOutput } from './report/input.js';
export { ReportError } from './report/errors.js';
export { tinyBaselineConfig, type BaselineChoice } from './report/baseline.js';
