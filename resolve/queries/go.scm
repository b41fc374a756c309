; Loom's locals query for Go: the scopes that can bind a name, the
; identifiers that bind one, and the identifiers that look one up.
; Package-level declarations are outside every @local.scope: the resolver
; answers them from the package's files.

(function_declaration) @local.scope
(method_declaration) @local.scope
(func_literal) @local.scope
(block) @local.scope
(if_statement) @local.scope
(for_statement) @local.scope
(expression_switch_statement) @local.scope
(type_switch_statement) @local.scope
(expression_case) @local.scope
(type_case) @local.scope
(default_case) @local.scope
(communication_case) @local.scope

(parameter_declaration name: (identifier) @local.definition)
(variadic_parameter_declaration name: (identifier) @local.definition)
(type_parameter_declaration name: (identifier) @local.definition)
(short_var_declaration left: (expression_list (identifier) @local.definition))
(var_spec name: (identifier) @local.definition)
(const_spec name: (identifier) @local.definition)
(range_clause left: (expression_list (identifier) @local.definition))
(type_switch_statement alias: (expression_list (identifier) @local.definition))
(receive_statement left: (expression_list (identifier) @local.definition))
(type_spec name: (type_identifier) @local.definition)
(type_alias name: (type_identifier) @local.definition)

(identifier) @local.reference
(type_identifier) @local.reference
(package_identifier) @local.reference
