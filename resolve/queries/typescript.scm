; Loom's locals query for TypeScript and JavaScript: function and block
; scopes; declarations (hoisted, so seen in their whole scope), parameters,
; destructured names, catch parameters, imports. A function's name is
; bound in the scope around it (the resolver's rule); a class, no scope of
; its own, binds its name where it is.

(program) @local.scope
(function_declaration) @local.scope
(generator_function_declaration) @local.scope
(function_expression) @local.scope
(arrow_function) @local.scope
(method_definition) @local.scope
(statement_block) @local.scope
(for_statement) @local.scope
(for_in_statement) @local.scope
(catch_clause) @local.scope

(function_declaration name: (identifier) @local.definition)
(generator_function_declaration name: (identifier) @local.definition)
(class_declaration name: (_) @local.definition)
(abstract_class_declaration name: (_) @local.definition)
(interface_declaration name: (_) @local.definition)
(type_alias_declaration name: (_) @local.definition)
(enum_declaration name: (_) @local.definition)

(variable_declarator name: (identifier) @local.definition)
(array_pattern (identifier) @local.definition)
(object_pattern (shorthand_property_identifier_pattern) @local.definition)
(pair_pattern value: (identifier) @local.definition)
(rest_pattern (identifier) @local.definition)
(assignment_pattern left: (identifier) @local.definition)
(required_parameter pattern: (identifier) @local.definition)
(optional_parameter pattern: (identifier) @local.definition)
(arrow_function parameter: (identifier) @local.definition)
(for_in_statement left: (identifier) @local.definition)
(catch_clause parameter: (identifier) @local.definition)
(type_parameter name: (_) @local.definition)

(import_clause (identifier) @local.definition)
; import {x as y} binds y alone.
(import_specifier name: (identifier) @local.definition !alias)
(import_specifier alias: (identifier) @local.definition)
(namespace_import (identifier) @local.definition)

(identifier) @local.reference
(type_identifier) @local.reference
