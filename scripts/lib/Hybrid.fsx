// References every Hybrid library from one build output folder (the experiments
// library copies the others, TorchSharp and libtorch's natives beside itself).
// Build first: dotnet build src-fs/Hybrid.Experiments -c Release
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/TorchSharp.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Runtime.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Core.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Data.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Training.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Reporting.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Sweeps.dll"
#r "../../src-fs/Hybrid.Experiments/bin/Release/net10.0/linux-x64/Hybrid.Experiments.dll"
