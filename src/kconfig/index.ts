export { Kconfig, type AllMode, type ParseOptions } from './kconfig.js';
export { KconfigError, DiagnosticSink, formatDiagnostic, type Diagnostic, type SourceLocation, type KconfigErrorKind } from './errors.js';
export { type KSymbol, type Expr, type MenuNode, type Property, type SymbolType, type Tristate } from './model.js';
export { loadKconfig, tinyconfig, archDefconfig, defaultConfigFallback, type LoadKconfigOptions, type LoadedKconfig, type ProbeOptions } from './load.js';
export { kbuildEnvironment, kernelVersion, type KbuildEnvironment, type ToolchainOptions } from './env.js';
export { mergeConfigFragments } from './merge.js';
export { explainSymbol, type SymbolExplanation, type ReverseDependency } from './explain.js';
export type { ShellProvider } from './shell.js';
export { writeSyncconfigFiles, changedOptions, type SyncconfigFiles, type SyncconfigWrite, type SyncconfigWriteOptions } from './sync-files.js';
