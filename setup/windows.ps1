<#
.SYNOPSIS
    kerasup: one command from a Windows machine to a verified Keras/TensorFlow (CPU) environment.

.DESCRIPTION
    A thin wrapper: it finds Python 3.11-3.13 (the py launcher), graphviz (winget or choco)
    and checks long-path support and the Microsoft C++ runtime that TensorFlow needs, then
    hands over to setup\bootstrap.py, the same installer ubuntu.sh uses: pinned uv from PyPI,
    the hashed pip lock (win_amd64 wheels), kerasup.pth, keras.json, the install record
    (<Prefix>\share\kerasup\install.json) and python -m verify (report in
    <Prefix>\share\kerasup\verify-report.json). Needs no administrator rights.

    TensorFlow has had no native-Windows GPU support since 2.10: -Variant gpu prints the WSL2
    commands that run setup/ubuntu.sh there and installs nothing here.

    Run it again at any time: with nothing changed it only verifies; an interrupted install
    is repaired.

.PARAMETER Variant
    cpu (default) or gpu. gpu explains the WSL2 route and stops.

.PARAMETER Python
    Python version of the environment, such as 3.12 (default 3.12, else the newest supported
    one that the py launcher knows); setup\bootstrap.py says which versions it supports.

.PARAMETER Prefix
    Where the environment goes (default: .venv in the repository).

.PARAMETER Conda
    Create the environment from envs\<variant>\conda-lock.yml with micromamba or conda-lock
    (graphviz then comes from conda-forge's package, inside the environment).

.PARAMETER DryRun
    Print every action and change nothing.

.PARAMETER Yes
    Do not ask before installing Python, graphviz or the C++ runtime with winget/choco. It
    answers questions only: it never replaces an environment kerasup did not make.

.PARAMETER MakeBundle
    Build an offline bundle (a folder, or a .zip) for another machine instead of installing:
    every wheel of the lock for the target, checked against its hash (see the README).

.PARAMETER FromBundle
    Install from an offline bundle with no network at all, then verify.

.PARAMETER IndexUrl
    Install from this package index (an internal mirror) instead of PyPI; the lock's hashes
    stay required.

.PARAMETER Help
    Show this help.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File setup\windows.ps1

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File setup\windows.ps1 -Python 3.11 -Prefix C:\envs\kerasup -DryRun

.NOTES
    Exit status: verify's (0 ready, 1 a check failed), 2 bad input, 3 setup could not proceed.
#>
[CmdletBinding()]
param(
    # Not validated here: setup\bootstrap.py checks every value (one place has the rules).
    [string]$Variant = 'cpu',

    [string]$Python = '',

    [string]$Prefix = '',

    [switch]$Conda,

    [switch]$DryRun,

    [switch]$Yes,

    [string]$MakeBundle = '',

    [string]$FromBundle = '',

    [string]$IndexUrl = '',

    [switch]$Help
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$script:RepoRoot = Split-Path -Parent (Split-Path -Parent $MyInvocation.MyCommand.Path)
$script:Bootstrap = Join-Path $script:RepoRoot 'setup\bootstrap.py'
$script:SupportedPythons = @('3.13', '3.12', '3.11')
$script:ExitCode = 0

function Write-Step {
    param([string]$Message)
    Write-Host "kerasup: $Message"
}

function Stop-Setup {
    # The refusal helper: one line, the reason and its fix, then exit (break under iex,
    # so the user's window stays open).
    param([string]$Reason, [string]$Fix = '', [int]$Code = 3)
    $line = "kerasup: error: $Reason"
    if ($Fix) { $line += " (fix: $Fix)" }
    [Console]::Error.WriteLine($line)
    if ($MyInvocation.ScriptName) { exit $Code } else { break }
}

function Confirm-Action {
    param([string]$Command)
    if ($DryRun) { Write-Step "would run: $Command"; return $false }
    if ($Yes) { Write-Step "run: $Command"; return $true }
    $answer = Read-Host "kerasup: run '$Command' now? [y/N]"
    return ($answer -match '^(y|yes)$')
}

function Show-WslInstruction {
    Write-Step 'TensorFlow has had no native-Windows GPU support since version 2.10, so kerasup'
    Write-Step 'never installs a GPU build on Windows. Use WSL2 with the NVIDIA driver for Windows:'
    Write-Host ''
    Write-Host '    wsl --install -d Ubuntu-24.04          # once, then restart and open Ubuntu'
    Write-Host '    nvidia-smi                             # inside Ubuntu: the Windows driver must answer'
    Write-Host '    git clone <this repository> ~/kerasup && cd ~/kerasup'
    Write-Host '    ./setup/ubuntu.sh --variant gpu'
    Write-Host ''
    Write-Step 'or install the CPU environment here: setup\windows.ps1 -Variant cpu'
}

function Test-Architecture {
    $arch = $env:PROCESSOR_ARCHITECTURE
    if ($env:PROCESSOR_ARCHITEW6432) { $arch = $env:PROCESSOR_ARCHITEW6432 }
    # Reported only: setup\bootstrap.py refuses an unsupported platform, with its fix.
    Write-Step "found: Windows $([Environment]::OSVersion.Version), $arch, PowerShell $($PSVersionTable.PSVersion)"
}

function Invoke-NativeQuiet {
    # Run a program for its output, stderr dropped. Windows PowerShell 5.1 turns a native
    # program's stderr into errors, which 'Stop' would make fatal, so relax it here.
    param([string]$FilePath, [string[]]$ArgumentList)
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $output = & $FilePath @ArgumentList 2>$null
        if ($LASTEXITCODE -ne 0 -or -not $output) { return $null }
        return (@($output)[0]).ToString().Trim()
    } catch {
        return $null
    } finally {
        $ErrorActionPreference = $saved
    }
}

function Find-PythonCommand {
    # The interpreter that runs the bootstrap and becomes the environment's Python.
    param([string]$Version)
    $wanted = if ($Version) { @($Version) } else { @('3.12') + ($script:SupportedPythons | Where-Object { $_ -ne '3.12' }) }
    $launcher = Get-Command py -ErrorAction SilentlyContinue
    foreach ($v in $wanted) {
        if ($launcher) {
            $exe = Invoke-NativeQuiet -FilePath 'py' -ArgumentList @("-$v", '-c', 'import sys; print(sys.executable)')
            if ($exe) { return $exe }
        }
        $candidate = Join-Path $env:LOCALAPPDATA ("Programs\Python\Python" + $v.Replace('.', '') + '\python.exe')
        if (Test-Path $candidate) { return $candidate }
    }
    return $null
}

function Install-Python {
    param([string]$Version)
    $v = if ($Version) { $Version } else { '3.12' }
    $command = "winget install --exact --id Python.Python.$v --scope user"
    if (-not (Get-Command winget -ErrorAction SilentlyContinue)) {
        Stop-Setup -Reason "no Python $($script:SupportedPythons -join '/') found (py launcher) and winget is not available" -Fix "install Python $v from https://www.python.org/downloads/windows/ and run again"
    }
    if (-not (Confirm-Action $command)) {
        if ($DryRun) { return }
        Stop-Setup -Reason "no Python $v found (py launcher)" -Fix $command
    }
    & winget install --exact --id "Python.Python.$v" --scope user --accept-package-agreements --accept-source-agreements | Out-Host
    if ($LASTEXITCODE -ne 0) { Stop-Setup -Reason 'winget could not install Python' -Fix $command }
}

function Get-DotDirectory {
    # The bootstrap knows where winget, choco and conda put dot: ask it (no logic twice).
    param([string]$PythonExe)
    return (Invoke-NativeQuiet -FilePath $PythonExe -ArgumentList @($script:Bootstrap, '--find-dot', '--platform', 'win-64'))
}

function Add-DotToPath {
    # Put dot on PATH for this session and, persistently, for the user.
    param([string]$Directory)
    if (($env:Path -split ';') -notcontains $Directory) {
        $env:Path = "$Directory;$env:Path"
    }
    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not $userPath) { $userPath = '' }
    if (($userPath -split ';') -notcontains $Directory) {
        if ($DryRun) { Write-Step "would add $Directory to the user PATH"; return }
        [Environment]::SetEnvironmentVariable('Path', (($userPath.TrimEnd(';') + ";$Directory").TrimStart(';')), 'User')
        Write-Step "added $Directory to the user PATH (new windows see it)"
    }
}

function Install-Graphviz {
    param([string]$PythonExe)
    $dir = Get-DotDirectory -PythonExe $PythonExe
    if ($dir) { Write-Step "graphviz dot: $dir"; Add-DotToPath -Directory $dir; return }
    if (Get-Command winget -ErrorAction SilentlyContinue) {
        $command = 'winget install --exact --id Graphviz.Graphviz --scope user'
        if (Confirm-Action $command) {
            & winget install --exact --id Graphviz.Graphviz --scope user --accept-package-agreements --accept-source-agreements | Out-Host
        }
    } elseif (Get-Command choco -ErrorAction SilentlyContinue) {
        $command = 'choco install graphviz -y'
        if (Confirm-Action $command) { & choco install graphviz -y | Out-Host }
    } else {
        Write-Step 'warning: neither winget nor choco found: install graphviz from https://graphviz.org/download/ for keras.utils.plot_model'
        return
    }
    $dir = Get-DotDirectory -PythonExe $PythonExe
    if ($dir) { Add-DotToPath -Directory $dir }
    elseif (-not $DryRun) { Write-Step 'warning: graphviz was installed but dot was not found; open a new window and run this again' }
}

function Test-LongPathSupport {
    # TensorFlow's wheels hold paths longer than 260 characters.
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\FileSystem'
    $value = (Get-ItemProperty -Path $key -Name LongPathsEnabled -ErrorAction SilentlyContinue)
    if ($value -and $value.LongPathsEnabled -eq 1) { Write-Step 'long paths: enabled'; return }
    Write-Step 'warning: long paths are disabled: installing TensorFlow may fail with "No such file or directory".'
    Write-Step "  fix (an administrator, once): New-ItemProperty -Path '$key' -Name LongPathsEnabled -Value 1 -PropertyType DWORD -Force"
    Write-Step '  or keep -Prefix short, e.g. C:\kerasup'
}

function Test-MsvcRuntime {
    # TensorFlow's DLLs link against the Visual C++ 2015-2022 runtime.
    $system32 = Join-Path $env:SystemRoot 'System32'
    $missing = @('vcruntime140_1.dll', 'msvcp140.dll') | Where-Object { -not (Test-Path (Join-Path $system32 $_)) }
    if (-not $missing) { Write-Step 'Microsoft C++ runtime: found (vcruntime140_1.dll, msvcp140.dll)'; return }
    $command = 'winget install --exact --id Microsoft.VCRedist.2015+.x64'
    Write-Step "Microsoft C++ runtime missing ($($missing -join ', ')): TensorFlow cannot load without it"
    if ((Get-Command winget -ErrorAction SilentlyContinue) -and (Confirm-Action $command)) {
        & winget install --exact --id Microsoft.VCRedist.2015+.x64 --accept-package-agreements --accept-source-agreements | Out-Host
    } elseif (-not $DryRun) {
        Write-Step "  fix: $command  (or https://aka.ms/vs/17/release/vc_redist.x64.exe)"
    }
}

function Invoke-Bootstrap {
    param([string]$PythonExe)
    $arguments = @($script:Bootstrap, '--variant', $Variant, '--python-exe', $PythonExe)
    if ($Python) { $arguments += @('--python', $Python) }
    if ($Prefix) { $arguments += @('--prefix', $Prefix) }
    if ($Conda) { $arguments += '--conda' }
    if ($DryRun) { $arguments += '--dry-run' }
    if ($MakeBundle) { $arguments += @('--make-bundle', $MakeBundle) }
    if ($FromBundle) { $arguments += @('--from-bundle', $FromBundle) }
    if ($IndexUrl) { $arguments += @('--index-url', $IndexUrl) }
    Write-Step 'handing over to setup\bootstrap.py'
    $env:PYTHONUTF8 = '1'  # verify's report has non-ASCII marks; the console may be cp1252
    & $PythonExe @arguments | Out-Host
    $script:ExitCode = $LASTEXITCODE
}

function Invoke-Main {
    if ($Help) { Get-Help -Full $PSCommandPath | Out-Host; return }
    Test-Architecture
    if ($Variant -eq 'gpu') { Show-WslInstruction; $script:ExitCode = 2; return }
    $pythonExe = Find-PythonCommand -Version $Python
    if (-not $pythonExe) {
        Install-Python -Version $Python
        $pythonExe = Find-PythonCommand -Version $Python
        if (-not $pythonExe) {
            if ($DryRun) { Write-Step 'dry run: stopping here, no Python to run the bootstrap'; return }
            Stop-Setup -Reason 'Python was installed but the py launcher does not see it yet' -Fix 'open a new window and run this again'
        }
    }
    Write-Step "Python: $pythonExe"
    Test-LongPathSupport
    Test-MsvcRuntime
    if (-not $Conda) { Install-Graphviz -PythonExe $pythonExe }
    Invoke-Bootstrap -PythonExe $pythonExe
}

# Dot-sourced (. setup\windows.ps1, as Pester tests do) it only defines the functions.
if ($MyInvocation.InvocationName -ne '.') {
    Invoke-Main
    exit $script:ExitCode
}
