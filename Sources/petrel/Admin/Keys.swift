import ArgumentParser
import Foundation
import PetrelRegistry
import PetrelRuntime

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API keys: for functions with `auth: key` (Authorization: Bearer KEY), and admin keys for the admin API.",
        subcommands: [Create.self, ListKeys.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; it is printed once and only its salted hash is kept.")
        @Argument(help: "A name to recognise the key by.") var name: String
        @Option(name: .customLong("function"), help: "A function the key may invoke (repeat for more; none: every function).") var functions: [String] = []
        @Flag(help: "An admin key: the admin API and every function.") var admin = false
        @OptionGroup var options: AdminOptions

        func run() throws {
            try reportingErrors {
                if admin && !functions.isEmpty { throw CLIError(code: Exit.invalid, message: "--admin keys reach every function; leave out --function") }
                let view: KeyView
                switch try options.target() {
                case .online(let client):
                    view = try client.call("POST", "/keys", KeyRequest(name: name, admin: admin, functions: functions), as: KeyView.self)
                case .offline(let registry):
                    let (record, key) = try registry.createKey(name: name, scope: admin ? .admin : .functions(functions))
                    view = KeyView(record, key: key)
                }
                if options.json { return try printJSON(view) }
                stderrLine("key \(view.id) (\(view.name), scope \(view.scope)); shown only this once:")
                print(view.key ?? "")
            }
        }
    }

    struct ListKeys: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List keys (ids, names, scopes; never the keys).")
        @OptionGroup var options: AdminOptions

        func run() throws {
            try reportingErrors {
                let views: [KeyView]
                switch try options.target() {
                case .online(let client): views = try client.call("GET", "/keys", as: [KeyView].self)
                case .offline(let registry): views = try registry.keys().map { KeyView($0) }
                }
                if options.json { return try printJSON(views) }
                let fmt = ISO8601DateFormatter()
                printTable(["ID", "NAME", "SCOPE", "CREATED", "REVOKED"], views.map {
                    [$0.id, $0.name, $0.scope, fmt.string(from: $0.created), $0.revoked.map(fmt.string) ?? "-"]
                })
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id; it stops working at once.")
        @Argument(help: "The key's id (see `petrel keys list`).") var id: String
        @OptionGroup var options: AdminOptions

        func run() throws {
            try reportingErrors {
                let view: KeyView
                switch try options.target() {
                case .online(let client): view = try client.call("DELETE", "/keys/\(id)", as: KeyView.self)
                case .offline(let registry): view = KeyView(try registry.revokeKey(id))
                }
                if options.json { return try printJSON(view) }
                print("revoked \(view.id) (\(view.name))")
            }
        }
    }
}
