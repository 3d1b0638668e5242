import ArgumentParser
import Foundation
import PetrelRegistry
import PetrelRuntime

struct Deploy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy a function folder (function.yaml + model) or a Triton / TF Serving model repository as new revisions.",
        discussion: """
            Compiles here (progress on stderr), stores the model under $PETREL_HOME/models, registers an immutable
            revision and routes traffic to it once a worker of it is ready. The same function.yaml and model
            deployed again reuse their revision and artifact. With a server running the change goes through its
            admin API (PETREL_ADMIN_KEY); otherwise straight into the registry.
            A model repository (<repo>/<model>/<version>/model.onnx, optional config.pbtxt or function.yaml per model)
            becomes one revision per version folder, tagged with the version number; the highest takes the traffic.
            Exit codes: 0 deployed, 2 invalid, 3 unreachable, 4 server error, 5 not found, 6 unauthorized, 7 conflict.
            """)

    @Argument(help: "A function folder or a model repository.") var path: String
    @Option(help: "Deploy under this name instead of function.yaml's.") var name: String?
    @Option(help: "Tag the new revision (addressable as a version: /v2/models/NAME/versions/TAG).") var tag: String?
    @Option(help: "Percent of traffic the new revision gets; the others keep their proportions.") var traffic = 100
    @Flag(help: "Register the revision without routing traffic to it.") var noTraffic = false
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try reportingErrors {
            // Checked here, not in validate(): ArgumentParser exits 64 there, scripts expect 2.
            if !(0...100).contains(traffic) { throw CLIError(code: Exit.invalid, message: "--traffic \(traffic): must be a percentage in 0...100") }
            let sources = try DeploySource.scan(path, name: name)
            if let tag, let last = sources.last, let problem = Registry.tagProblem(tag, function: last.config.name) { throw problem }
            let target = try admin.target()
            var views: [DeployView] = []
            for (i, source) in sources.enumerated() {
                let last = i == sources.count - 1
                stderrLine("\(source.config.name): compiling \(source.modelPath)")
                var prepared = try Deployer.prepare(source) { stderrLine("  \($0)") }
                if last, let tag { prepared.tag = tag }
                // A repository's older versions are registered (addressable by tag) without traffic.
                let share: Int? = noTraffic || !last ? nil : traffic
                let view: DeployView
                switch target {
                case .online(let client):
                    try client.ensureModel(sha256: prepared.modelSHA256)
                    view = try client.call("POST", "/functions/\(source.config.name)/revisions",
                                           DeployRequest(config: prepared.configText, modelSha256: prepared.modelSHA256,
                                                         origin: prepared.origin, tag: prepared.tag, traffic: share), as: DeployView.self)
                case .offline(let registry):
                    let (rev, state, reused) = try Registration.deployOffline(prepared, function: source.config.name,
                                                                              registry: registry, traffic: share)
                    view = DeployView(revision: rev.id, reused: reused, function: FunctionView(state))
                }
                views.append(view)
                if !admin.json {
                    let split = view.function.traffic.map { "\($0.revision) \($0.percent) %" }.joined(separator: ", ")
                    print("\(view.reused ? "unchanged" : "deployed") \(view.revision)\(prepared.tag.map { " (tag \($0))" } ?? "") — traffic: \(split.isEmpty ? "none" : split)")
                }
            }
            if admin.json { try printJSON(views) }
        }
    }
}

struct Traffic: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Split a function's traffic across revisions: petrel traffic NAME REV=PERCENT...",
        discussion: "REV is a revision id (digits-mlp-00002), number (2) or tag. The percents must add up to 100.")

    @Argument(help: "The function.") var name: String
    @Argument(help: "REV=PERCENT pairs.") var split: [String]
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try reportingErrors {
            var targets: [TrafficTarget] = []
            for pair in split {
                let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let p = Int(kv[1]) else {
                    throw CLIError(code: Exit.invalid, message: "\(pair): expected REVISION=PERCENT, e.g. \(name)-00002=10")
                }
                targets.append(TrafficTarget(revision: kv[0], percent: p))
            }
            let view = try admin.function("PUT", "\(name)/traffic", TrafficRequest(traffic: targets)) { try $0.setTraffic(name, targets) }
            try show(view, json: admin.json)
        }
    }
}

struct Rollback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a function's traffic back as it was before the last change (or 100 % on --to).",
        discussion: "Instant: a revision that still has workers answers at once. Repeated rollbacks walk further back.")

    @Argument(help: "The function.") var name: String
    @Option(help: "Send all traffic to this revision (id, number or tag).") var to: String?
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try reportingErrors {
            let view = try admin.function("POST", "\(name)/rollback", RollbackRequest(to: to)) { try $0.rollback(name, to: to) }
            try show(view, json: admin.json)
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List deployed functions.")
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try reportingErrors {
            let views: [FunctionView]
            switch try admin.target() {
            case .online(let client): views = try client.call("GET", "/functions", as: [FunctionView].self)
            case .offline(let registry): views = try registry.allFunctions().map { FunctionView($0) }
            }
            if admin.json { return try printJSON(views) }
            printTable(["NAME", "REVISIONS", "TRAFFIC", "TAGS", "AUTH", "WORKERS"], views.map { v in
                let workers = v.revisions.compactMap(\.runtime).reduce(0) { $0 + ($1.workers["ready"] ?? 0) }
                return [v.name, String(v.revisions.count), trafficText(v), v.tags.sorted { $0.key < $1.key }.map { "\($0.key)→\(short($0.value, v.name))" }.joined(separator: " "),
                        v.revisions.contains { $0.auth == "key" } ? "key" : "public", v.revisions.contains { $0.runtime != nil } ? String(workers) : "-"]
            })
        }
    }
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a function's revisions, traffic, tags, workers and cold starts.")
    @Argument(help: "The function.") var name: String
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try reportingErrors {
            let view = try admin.function("GET", name) { registry in
                guard let state = try registry.function(name) else { throw RegistryError(.notFound, "unknown function '\(name)'") }
                return state
            }
            try show(view, json: admin.json)
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a function: stop routing to it, let its workers finish, remove its revisions and unused artifacts.")
    @Argument(help: "The function.") var name: String
    @OptionGroup var admin: AdminOptions

    func run() throws {
        try reportingErrors {
            let view = try admin.function("DELETE", name) { registry in
                let state = try registry.deleteFunction(name)
                _ = try Deployer.collectGarbage(deleted: state.revisions, registry: registry)
                return state
            }
            if admin.json { return try printJSON(view) }
            print("deleted \(name) (\(view.revisions.count) revision(s))")
        }
    }
}

func short(_ revision: String, _ function: String) -> String {
    revision.hasPrefix(function + "-") ? String(revision.dropFirst(function.count + 1)) : revision
}

func trafficText(_ v: FunctionView) -> String {
    v.traffic.isEmpty ? "none" : v.traffic.map { "\(short($0.revision, v.name))=\($0.percent)%" }.joined(separator: " ")
}

/// A function as `describe` prints it.
func show(_ v: FunctionView, json: Bool) throws {
    if json { return try printJSON(v) }
    print("function \(v.name)   traffic: \(trafficText(v))")
    let fmt = ISO8601DateFormatter()
    printTable(["REVISION", "CREATED", "TRAFFIC", "TAGS", "AUTH", "WORKERS", "COLD STARTS", "COLD p50", "SOURCE"], v.revisions.map { r in
        let workers = r.runtime.map { rt in ["ready", "starting", "draining"].compactMap { k in rt.workers[k].flatMap { $0 > 0 ? "\($0) \(k)" : nil } }.joined(separator: ", ") }
        let total = r.runtime?.coldStarts["total"]
        return [r.id, fmt.string(from: r.created), "\(r.percent)%", r.tags.joined(separator: ","), r.auth,
                workers.map { $0.isEmpty ? "0" : $0 } ?? "-", total.map { String(Int($0["count"] ?? 0)) } ?? "-",
                total.map { String(format: "%.1f ms", $0["p50_ms"] ?? 0) } ?? "-", r.source]
    })
    for r in v.revisions {
        guard let cold = r.runtime?.coldStarts, let total = cold["total"], (total["count"] ?? 0) > 0 else { continue }
        print("\ncold starts of \(r.id) (ms):")
        printTable(["PHASE", "COUNT", "p50", "p90", "p99", "max"], ["spawn", "main", "ready", "mapped", "inference", "response", "total"].compactMap { p in
            cold[p].map { s in [p, String(Int(s["count"] ?? 0))] + ["p50_ms", "p90_ms", "p99_ms", "max_ms"].map { String(format: "%.2f", s[$0] ?? 0) } }
        })
    }
}
