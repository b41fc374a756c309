package analysis

// Tags queries, one per language. Captures:
//   @definition.<kind>  the node spanning a definition (kind: see Kind)
//   @name               the definition's name
//   @reference.call     an identifier in callee position
//   @reference          any other identifier occurrence (root patterns only)
// Patterns are tried in order; the first to claim a name node wins, so the
// more specific pattern goes first (struct before plain type).

const goTags = `
(function_declaration name: (identifier) @name) @definition.function
(method_declaration name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(const_spec name: (identifier) @name) @definition.constant
(var_spec name: (identifier) @name) @definition.variable
(field_declaration name: (field_identifier) @name) @definition.field
(method_elem name: (field_identifier) @name) @definition.method

(call_expression function: [
  (identifier) @reference.call
  (selector_expression field: (field_identifier) @reference.call)
  (parenthesized_expression (identifier) @reference.call)
])

(import_spec name: (package_identifier) @import.name)
(import_spec path: (interpreted_string_literal) @import.path)

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
(package_identifier) @reference
`

const pythonTags = `
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
(module (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable))
(module [
  (if_statement consequence: (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))
  (if_statement alternative: [(else_clause body: (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))
                              (elif_clause consequence: (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))])
  (try_statement body: (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))
  (try_statement [(except_clause (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))
                  (else_clause body: (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))
                  (finally_clause (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))])
  (with_statement body: (block (expression_statement (assignment left: [(identifier) @name (pattern_list (identifier) @name)]) @definition.variable)))
])
(class_definition body: (block (expression_statement (assignment left: (identifier) @name) @definition.field)))

(call function: [
  (identifier) @reference.call
  (attribute attribute: (identifier) @reference.call)
])

(identifier) @reference
`

const javascriptTags = `
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (identifier) @name) @definition.class
(method_definition name: [(property_identifier) (private_property_identifier) (computed_property_name)] @name) @definition.method
(field_definition property: [(property_identifier) (private_property_identifier) (computed_property_name)] @name) @definition.field
(assignment_expression
  left: (member_expression object: [
    (identifier)
    (member_expression object: (identifier) property: (property_identifier) @_p (#match? @_p "^(prototype|exports)$"))
  ] property: (property_identifier) @name)
  right: [(function_expression) (arrow_function) (generator_function)]) @definition.function
` + jsFamilyTags + ``

// jsFamilyTags are the variable definitions and references JavaScript and
// TypeScript share.
const jsFamilyTags = `
(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(variable_declarator name: (identifier) @name value: (class)) @definition.class
(variable_declarator name: (identifier) @name) @definition.variable

(call_expression function: [
  (identifier) @reference.call
  (member_expression property: (property_identifier) @reference.call)
])
(new_expression constructor: (identifier) @reference.call)

(identifier) @reference
(property_identifier) @reference
(shorthand_property_identifier) @reference
`

// typescriptTags serves both TypeScript and TSX.
const typescriptTags = `
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(function_signature name: (identifier) @name) @definition.function
(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(enum_body (property_identifier) @name @definition.enummember)
(enum_assignment name: (property_identifier) @name) @definition.enummember
(internal_module name: [(identifier) (nested_identifier)] @name) @definition.module
(module name: [(identifier) (nested_identifier)] @name) @definition.module
(method_definition name: [(property_identifier) (private_property_identifier)] @name) @definition.method
(method_signature name: (property_identifier) @name) @definition.method
(abstract_method_signature name: (property_identifier) @name) @definition.method
(public_field_definition name: [(property_identifier) (private_property_identifier)] @name) @definition.field
(property_signature name: (property_identifier) @name) @definition.field
` + jsFamilyTags + `(type_identifier) @reference
`

const rustTags = `
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(union_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(enum_variant name: (identifier) @name) @definition.enummember
(trait_item name: (type_identifier) @name) @definition.interface
(type_item name: (type_identifier) @name) @definition.type
(mod_item name: (identifier) @name) @definition.module
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable
(macro_definition name: (identifier) @name) @definition.macro
(field_declaration name: (field_identifier) @name) @definition.field
(impl_item type: [
  (type_identifier) @name
  (generic_type type: (type_identifier) @name)
  (scoped_type_identifier name: (type_identifier) @name)
]) @definition.impl

(call_expression function: [
  (identifier) @reference.call
  (field_expression field: (field_identifier) @reference.call)
  (scoped_identifier name: (identifier) @reference.call)
])
(macro_invocation macro: (identifier) @reference.call)

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
`

const javaTags = `
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(enum_constant name: (identifier) @name) @definition.enummember
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.constructor
(field_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.field
(constant_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.constant

(method_invocation name: (identifier) @reference.call)
(object_creation_expression type: (type_identifier) @reference.call)

(identifier) @reference
(type_identifier) @reference
`

// cFamilyTags are the definitions C and C++ share.
const cFamilyTags = `
(enumerator name: (identifier) @name) @definition.enummember
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro
(declaration declarator: [
  (identifier) @name
  (init_declarator declarator: (identifier) @name)
  (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))
  (pointer_declarator declarator: (identifier) @name)
  (array_declarator declarator: (identifier) @name)
]) @definition.variable
(field_declaration declarator: [
  (field_identifier) @name
  (pointer_declarator declarator: (field_identifier) @name)
  (array_declarator declarator: (field_identifier) @name)
]) @definition.field
`

const cTags = `
(function_definition declarator: [
  (function_declarator declarator: (identifier) @name)
  (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
  (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
]) @definition.function
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(type_definition declarator: [
  (type_identifier) @name
  (pointer_declarator declarator: (type_identifier) @name)
]) @definition.type
` + cFamilyTags + `
(call_expression function: [
  (identifier) @reference.call
  (field_expression field: (field_identifier) @reference.call)
])

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
`

const cppTags = `
(function_definition declarator: [
  (function_declarator declarator: [(identifier) (field_identifier) (destructor_name) (operator_name)] @name)
  (function_declarator declarator: (qualified_identifier name: [(identifier) (destructor_name) (operator_name)] @name))
  (pointer_declarator declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name))
  (reference_declarator (function_declarator declarator: [(identifier) (field_identifier)] @name))
]) @definition.function
(field_declaration declarator: (function_declarator declarator: [(field_identifier) (destructor_name) (operator_name)] @name)) @definition.method
; The grammar reads a member "T x = 0;" as a pure virtual function without
; parameters; it is a field.
(function_definition declarator: (field_identifier) @name (pure_virtual_clause)) @definition.field
(class_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)] body: (field_declaration_list)) @definition.class
(struct_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)] body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(namespace_definition name: (namespace_identifier) @name) @definition.namespace
(alias_declaration name: (type_identifier) @name) @definition.type
(type_definition declarator: [
  (type_identifier) @name
  (pointer_declarator declarator: (type_identifier) @name)
]) @definition.type
` + cFamilyTags + `
(call_expression function: [
  (identifier) @reference.call
  (field_expression field: (field_identifier) @reference.call)
  (qualified_identifier name: (identifier) @reference.call)
])

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
(namespace_identifier) @reference
`

const rubyTags = `
(class name: [(constant) @name (scope_resolution name: (constant) @name)]) @definition.class
(module name: [(constant) @name (scope_resolution name: (constant) @name)]) @definition.module
(method name: [(identifier) (constant) (setter) (operator)] @name) @definition.method
(singleton_method name: [(identifier) (constant) (setter) (operator)] @name) @definition.method
(alias name: [(identifier) (constant) (setter) (operator)] @name) @definition.method
(call method: (identifier) @_m (#match? @_m "^alias_method$") arguments: (argument_list . (simple_symbol) @name)) @definition.method
(call method: (identifier) @_m (#match? @_m "^attr_(accessor|reader|writer)$") arguments: (argument_list (simple_symbol) @name)) @definition.field
(assignment left: (constant) @name) @definition.constant

(call method: (identifier) @reference.call)

(identifier) @reference
(constant) @reference
`
