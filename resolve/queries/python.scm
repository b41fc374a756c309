; Loom's locals query for Python. Every binding is seen in its whole scope
; (Python decides a name's scope by the function, not by order); a def's or
; a class's name is bound in the scope around it, and class bodies are not
; seen from the functions inside them (the resolver's rule).

(module) @local.scope
(function_definition) @local.scope
(class_definition) @local.scope
(lambda) @local.scope
(list_comprehension) @local.scope
(set_comprehension) @local.scope
(dictionary_comprehension) @local.scope
(generator_expression) @local.scope

(function_definition name: (identifier) @local.definition)
(class_definition name: (identifier) @local.definition)

(parameters (identifier) @local.definition)
(lambda_parameters (identifier) @local.definition)
(default_parameter name: (identifier) @local.definition)
(typed_parameter (identifier) @local.definition)
(typed_default_parameter name: (identifier) @local.definition)
(list_splat_pattern (identifier) @local.definition)
(dictionary_splat_pattern (identifier) @local.definition)

(assignment left: (identifier) @local.definition)
(assignment left: (pattern_list (identifier) @local.definition))
(assignment left: (tuple_pattern (identifier) @local.definition))
(for_statement left: (identifier) @local.definition)
(for_statement left: (pattern_list (identifier) @local.definition))
(for_statement left: (tuple_pattern (identifier) @local.definition))
(for_in_clause left: (identifier) @local.definition)
(for_in_clause left: (pattern_list (identifier) @local.definition))
(for_in_clause left: (tuple_pattern (identifier) @local.definition))
(as_pattern_target (identifier) @local.definition)
(named_expression name: (identifier) @local.definition)

(import_statement name: (dotted_name . (identifier) @local.definition))
(import_statement name: (aliased_import alias: (identifier) @local.definition))
(import_from_statement name: (dotted_name (identifier) @local.definition))
(import_from_statement name: (aliased_import alias: (identifier) @local.definition))

(identifier) @local.reference
