import ArgumentParser
import Foundation
import Logging
import VaultSimCore
import VaultSimProviders
import VaultSimScenarios
import VaultSimServer

/// `vaultsim run`: the conformance suite against an SDK.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run conformance scenarios against an SDK through its driver.",
        discussion: """
            With no paths, runs the bundled suite (scenarios/) against the reference SDK, alter-sdk 0.11.0, \
            through the bundled Python driver (its venv is made on first use in drivers/python/.venv/). \
            Each scenario gets a fresh sandbox and a fresh driver process. Exit codes: 0 all passed, 1 any failed, 2 bad input (a malformed scenario, a bad option, a driver that cannot be set up), 3 infrastructure (the driver could not start a client: the run stops at the first such scenario and says why once).
            """)

    @Argument(help: "Scenario files or folders (default: the bundled scenarios/).")
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("The driver command to run (default: the bundled Python driver).", valueName: "command"))
    var driver: String?

    @Option(name: .long, help: ArgumentHelp(
        "The SDK for the bundled Python driver, as a pip requirement (default: drivers/python/requirements.txt, alter-sdk==0.11.0). Each requirement gets its own venv.",
        valueName: "requirement"))
    var sdk: String?

    @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report here.", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Run only scenarios with this tag (repeatable: any of them).", valueName: "tag"))
    var tag: [String] = []

    @Option(name: .long, help: "How many scenarios to run at once.")
    var jobs: Int = 1

    @Option(name: .long, help: "The SDK's HTTP timeout in seconds (more than 0, at most 3600), unless a scenario sets its own.")
    var sdkTimeout: Double = 10

    /// The longest SDK timeout a run accepts (the loader holds `given.client.timeout` to the same).
    static let maxSDKTimeout: Double = 3600

    @Flag(name: .long, help: "Print the driver's log (the SDK's stderr) of every failed scenario.")
    var verbose = false

    @Flag(name: .long, help: "Fail (exit 1) when an item of the contract catalogue has no passing scenario.")
    var requireCoverage = false

    @Flag(name: .long, help: ArgumentHelp(
        "Do not use the intercepting proxy: rewrite the scenarios' real URLs to the provider gateway instead (for an SDK that cannot use HTTPS_PROXY).",
        discussion: "By default drivers get HTTPS_PROXY, SSL_CERT_FILE and NO_PROXY, and requests keep their real URLs."))
    var noProxy = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if let sdk {
            guard driver == nil else { throw ValidationError("--sdk picks the SDK of the bundled driver; it does not go with --driver") }
            guard sdk.wholeMatch(of: /alter-sdk==[0-9A-Za-z.+\-]+/) != nil else {
                throw ValidationError("--sdk takes a pinned requirement such as alter-sdk==0.10.0, got '\(sdk)'")
            }
        }
        // NaN fails every comparison, so it is refused with the rest.
        guard sdkTimeout.isFinite, sdkTimeout > 0, sdkTimeout <= Self.maxSDKTimeout else {
            throw ValidationError("--sdk-timeout must be a number of seconds more than 0 and at most \(Int(Self.maxSDKTimeout)), got \(sdkTimeout)")
        }
    }

    func run() async throws {
        do {
            try await runSuite()
        } catch let error as UserError {
            printError("vaultsim: \(error.message)")
            throw ExitCode(error.code)
        }
    }

    private func runSuite() async throws {
        // Found before anything runs, not after the whole suite did.
        if let junit, let problem = Self.junitProblem(at: junit) {
            throw UserError.badInput("cannot write the JUnit report to \(junit): \(problem)")
        }
        let layout: ProjectLayout
        do { layout = try ProjectLayout.locate() } catch { throw UserError.badInput("\(error)") }

        let (loaded, errors) = ScenarioLoader.load(paths: paths.isEmpty ? [layout.scenarios.path] : paths)
        if !errors.isEmpty {
            for error in errors { printError("\(error)") }
            throw UserError.badInput("\(errors.count) scenario file problem(s); nothing was run")
        }
        var catalogue: ContractCatalogue?
        if FileManager.default.fileExists(atPath: layout.contractCatalogue.path) {
            do { catalogue = try ContractCatalogue.load(layout.contractCatalogue) } catch { throw UserError.badInput("\(error)") }
        } else if requireCoverage {
            throw UserError.badInput("--require-coverage needs the contract catalogue at \(layout.contractCatalogue.path)")
        }
        if let unknown = catalogue?.unknownReferences(in: loaded), !unknown.isEmpty {
            for error in unknown { printError("\(error)") }
            throw UserError.badInput("\(unknown.count) scenario(s) cover items the catalogue does not have; nothing was run")
        }
        let scenarios = tag.isEmpty ? loaded : loaded.filter { !Set($0.tags).isDisjoint(with: tag) }
        guard !scenarios.isEmpty else {
            throw UserError.badInput("no scenario has any of the tags \(tag.joined(separator: ", "))")
        }

        let command: DriverCommand
        do {
            if let driver {
                command = try DriverCommand.parse(driver)
            } else {
                command = try await PythonDriverBootstrap(layout: layout, requirement: sdk).ensure(log: { printError($0) })
            }
        } catch {
            throw UserError.badInput("cannot prepare the driver: \(error)")
        }
        if let problem = command.executableProblem {
            throw UserError.badInput("the driver command cannot be run: \(problem)")
        }

        let fixtures: FixtureLibrary
        do { fixtures = try FixtureLibrary(root: layout.fixtures) } catch { throw UserError.badInput("\(error)") }
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: fixtures)
        let running = try await server.start()
        var options = ScenarioRunner.Options()
        options.jobs = jobs
        options.sdkTimeout = sdkTimeout
        var proxy: InterceptingProxy?
        if !noProxy {
            do {
                let authority = try LocalCertificateAuthority()
                let started = InterceptingProxy(server: server, authority: authority)
                options.proxy = ProxyEnvironment(port: try await started.start(), caFile: authority.certificateFile.path)
                proxy = started
            } catch {
                await running.stop()
                throw UserError.badInput("cannot start the intercepting proxy: \(error) (--no-proxy runs without it)")
            }
        }
        let runner = ScenarioRunner(server: server, serverURL: running.baseURL, driver: command, options: options)
        printLine("vaultsim: \(ConsoleReport.plural(scenarios.count, "scenario")), driver: \(command)")
        printLine("vaultsim: " + (options.proxy.map { "real URLs through the intercepting proxy on 127.0.0.1:\($0.port) (CA \($0.caFile))" }
            ?? "real URLs rewritten to the provider gateway (--no-proxy)"))
        let verbose = self.verbose
        let summary = await runner.run(scenarios) { result in
            printLine(ConsoleReport.line(for: result))
            if verbose, !result.passed, !result.driverLog.isEmpty {
                printLine("        driver log:\n          " + result.driverLog.replacingOccurrences(of: "\n", with: "\n          "))
            }
        }
        await proxy?.stop()
        await running.stop()
        if let failed = summary.driverStartFailure {
            printError(ConsoleReport.driverStartFailure(failed, driver: "\(command)"))
            throw ExitCode(3)
        }
        printLine(ConsoleReport.summary(summary, sdk: ConsoleReport.describeSDK(summary.results)))
        if let junit {
            do {
                try JUnitReport.xml(summary).write(toFile: junit, atomically: true, encoding: .utf8)
            } catch {
                throw UserError.badInput("cannot write the JUnit report to \(junit): \(Self.shortReason(error))")
            }
        }
        var uncovered = 0
        // Coverage means something for the whole suite only (or when asked for): a run of three
        // files covers three files' items.
        if let catalogue, paths.isEmpty || requireCoverage {
            let coverage = catalogue.coverage(scenarios, results: summary.results)
            uncovered = coverage.filter(\.passing.isEmpty).count
            printLine(ContractCatalogue.report(coverage))
        }
        if !summary.allPassed { throw ExitCode(1) }
        if requireCoverage, uncovered > 0 {
            printError("vaultsim: \(uncovered) contract item(s) have no passing scenario (--require-coverage)")
            throw ExitCode(1)
        }
    }

    /// Why a JUnit report could not be written at `path`, in a few words; nil when it can. The
    /// report is written atomically (a temporary file in the same folder, then a rename), so what
    /// matters is that the folder exists and takes a new file: a probe file is made and removed.
    static func junitProblem(at path: String) -> String? {
        guard !path.isEmpty else { return "the path is empty" }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if path.hasSuffix("/") || (fm.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return "it is a folder; name a file in it"
        }
        let parent = (path as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory) else { return "the folder \(folder) does not exist" }
        guard isDirectory.boolValue else { return "\(folder) is not a folder" }
        let probe = (folder as NSString).appendingPathComponent(".vaultsim-junit-probe-\(UUID().uuidString)")
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        _ = close(descriptor)
        _ = unlink(probe)
        return nil
    }

    /// The POSIX reason inside a Foundation file error ("Permission denied"), not its whole dump.
    static func shortReason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(truncatingIfNeeded: nsError.code))) }
        return nsError.localizedDescription
    }
}
