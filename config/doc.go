// Package config reads tend's YAML configuration: its schema and defaults,
// ${ENV} expansion, and validation whose errors name the file, the line and
// the key, with a hint of what to write instead.
//
// Settings that belong to one kind of source or integration stay as a [Node]
// here; the collector and the integration packages decode them with
// [Node.Decode], so every package owns its own keys while errors keep their
// file and line.
package config
