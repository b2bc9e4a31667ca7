//! Expression evaluation with unknown values and sensitive marks.
//!
//! The evaluator walks hcl-edit expressions directly (they keep byte spans,
//! so errors point at the exact sub-expression). References are resolved
//! through a [`Scope`], which the caller provides: at plan time a reference
//! to a resource not yet created yields an unknown value, at apply time the
//! real one. Every operation follows the same two rules:
//!
//! * unknown in, unknown out (with the result's type when it is known);
//! * a sensitive operand marks the result.

use super::convert::{convert, unify};
use super::functions::{self, FuncContext};
use super::limits::{self, Built};
use super::number::{Number, NumberError};
use super::refs::{Reference, parse_reference};
use super::value::{Type, Value};
use hcl::edit::Span;
use hcl::edit::expr::{
    BinaryOperator, Expression, ForExpr, ObjectKey, TraversalOperator, UnaryOperator,
};
use hcl::edit::template::{Directive, Element, Template};

mod heredoc;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// Where references get their values.
pub trait Scope {
    fn resolve(&self, reference: &Reference) -> std::result::Result<Value, ScopeError>;
    /// The directory of the module being evaluated (`path.module`).
    fn base_dir(&self) -> &Path;
}

/// A reference the scope cannot resolve, in Terraform's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError {
    pub summary: String,
    pub detail: String,
}

/// An evaluation error, pointing at the sub-expression at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{summary}: {detail}")]
pub struct EvalError {
    pub span: Option<Range<usize>>,
    pub summary: String,
    pub detail: String,
}

impl EvalError {
    fn new(
        span: Option<Range<usize>>,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) -> EvalError {
        EvalError {
            span,
            summary: summary.into(),
            detail: detail.into(),
        }
    }
}

type Result<T> = std::result::Result<T, EvalError>;

pub struct Evaluator<'s> {
    scope: &'s dyn Scope,
    /// Names bound by `for` expressions and template `for` directives,
    /// innermost last.
    bindings: Vec<(String, Value)>,
    /// What the function calls, `for` expressions and templates evaluated
    /// so far have built, which is bounded in all.
    built: Built,
}

impl<'s> Evaluator<'s> {
    pub fn new(scope: &'s dyn Scope) -> Evaluator<'s> {
        Evaluator::with_bindings(scope, Vec::new())
    }

    /// An evaluator that starts with some names already bound (the
    /// variables of `templatefile`).
    pub fn with_bindings(scope: &'s dyn Scope, bindings: Vec<(String, Value)>) -> Evaluator<'s> {
        Evaluator {
            scope,
            bindings,
            built: Built::default(),
        }
    }

    /// Counts a value this evaluation built against what one evaluation
    /// may build in all; `span` is the expression that built it.
    fn count_built(&mut self, v: Value, span: Option<Range<usize>>) -> Result<Value> {
        match self.built.count(&v) {
            Ok(()) => Ok(v),
            Err(message) => Err(EvalError::new(
                span,
                "Expression builds too much",
                format!("{}.", capitalized(&message)),
            )),
        }
    }

    /// Runs `f` with `name` bound to `value`: a `dynamic` block's
    /// iterator while its content is evaluated.
    pub fn with_binding<T>(
        &mut self,
        name: &str,
        value: Value,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.bindings.push((name.to_string(), value));
        let result = f(self);
        self.bindings.pop();
        result
    }

    pub fn eval(&mut self, expr: &Expression) -> Result<Value> {
        match expr {
            Expression::Null(_) => Ok(Value::NULL),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            // The literal's own text keeps every digit; the parsed value
            // went through a binary float.
            Expression::Number(n) => n
                .as_repr()
                .and_then(|r| Number::parse(r))
                .or_else(|| Number::parse(&n.value().to_string()))
                .map(Value::Number)
                .ok_or_else(|| {
                    EvalError::new(
                        expr.span(),
                        "Invalid number literal",
                        "The number is out of range.",
                    )
                }),
            Expression::String(s) => Ok(Value::string(s.value().as_str())),
            Expression::Array(items) => {
                let values = items
                    .iter()
                    .map(|e| self.eval(e))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Value::tuple(values))
            }
            Expression::Object(obj) => {
                let mut attrs = BTreeMap::new();
                let mut unknown_key = false;
                let mut marked = false;
                for (key, value) in obj.iter() {
                    let name = match key {
                        ObjectKey::Ident(id) => id.as_str().to_string(),
                        ObjectKey::Expression(e) => {
                            let k = match e {
                                // A bare name as key is the name itself.
                                Expression::Variable(v) => Value::string(v.as_str()),
                                other => self.eval(other)?,
                            };
                            let (k, m) = k.unmark();
                            marked |= m;
                            if !k.is_known() {
                                unknown_key = true;
                                continue;
                            }
                            if k.is_null() {
                                return Err(EvalError::new(
                                    e.span(),
                                    "Invalid object key",
                                    "Key expression in object constructor must not be null.",
                                ));
                            }
                            match convert(k, &Type::String) {
                                Ok(s) => s.as_str().unwrap_or_default().to_string(),
                                Err(_) => {
                                    return Err(EvalError::new(
                                        e.span(),
                                        "Incorrect key type",
                                        "Can't use this value as a key: string required.",
                                    ));
                                }
                            }
                        }
                    };
                    let v = self.eval(value.expr())?;
                    attrs.insert(name, v);
                }
                if unknown_key {
                    return Ok(Value::unknown().marked_if(marked));
                }
                Ok(Value::object(attrs).marked_if(marked))
            }
            Expression::StringTemplate(t) => self.template(t, expr.span()),
            Expression::HeredocTemplate(h) => self.template(&heredoc::resolve(h), expr.span()),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.variable(v.as_str(), &[], expr.span()),
            Expression::Conditional(c) => self.conditional(c, expr.span()),
            Expression::FuncCall(f) => self.func_call(f, expr.span()),
            Expression::Traversal(t) => {
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
                let (base, rest) = match &t.expr {
                    Expression::Variable(root) => {
                        let consumed = self.root_ops_consumed(root.as_str(), &ops, expr.span())?;
                        let v = self.variable(root.as_str(), &ops[..consumed], expr.span())?;
                        (v, &ops[consumed..])
                    }
                    other => (self.eval(other)?, &ops[..]),
                };
                self.traverse(base, rest, expr.span())
            }
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                let (v, marked) = v.unmark();
                let result = match u.operator.value() {
                    UnaryOperator::Neg => {
                        if !v.is_known() {
                            Value::Unknown(Type::Number)
                        } else {
                            let n = self.operand_number(v, u.expr.span(), "-")?;
                            Value::Number(n.negate())
                        }
                    }
                    UnaryOperator::Not => {
                        if !v.is_known() {
                            Value::Unknown(Type::Bool)
                        } else {
                            Value::Bool(!self.operand_bool(v, u.expr.span(), "!")?)
                        }
                    }
                };
                Ok(result.marked_if(marked))
            }
            Expression::BinaryOp(b) => self.binary(b, expr.span()),
            Expression::ForExpr(f) => self.for_expr(f, expr.span()),
        }
    }

    /// How many operators after `root` belong to the reference itself.
    fn root_ops_consumed(
        &self,
        root: &str,
        ops: &[&TraversalOperator],
        span: Option<Range<usize>>,
    ) -> Result<usize> {
        if self.binding(root).is_some() {
            return Ok(0);
        }
        parse_reference(root, ops)
            .map(|(_, n)| n)
            .map_err(|e| EvalError::new(span, e.summary, e.detail))
    }

    fn binding(&self, name: &str) -> Option<&Value> {
        self.bindings
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn variable(
        &self,
        root: &str,
        ops: &[&TraversalOperator],
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        if let Some(v) = self.binding(root) {
            return Ok(v.clone());
        }
        let (reference, _) = parse_reference(root, ops)
            .map_err(|e| EvalError::new(span.clone(), e.summary, e.detail))?;
        self.scope
            .resolve(&reference)
            .map_err(|e| EvalError::new(span, e.summary, e.detail))
    }

    fn traverse(
        &mut self,
        mut value: Value,
        ops: &[&TraversalOperator],
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        let mut i = 0;
        while i < ops.len() {
            match ops[i] {
                TraversalOperator::GetAttr(name) => {
                    value = get_attr(&value, name.as_str(), span.clone())?;
                }
                TraversalOperator::Index(index_expr) => {
                    let key = self.eval(index_expr)?;
                    value = index(&value, &key, index_expr.span().or(span.clone()))?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    value = index(
                        &value,
                        &Value::number(Number::from_u64(*n.value())),
                        span.clone(),
                    )?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    // The operators that apply to each element: for `.*` only
                    // attribute accesses, for `[*]` everything up to the end.
                    let full = matches!(ops[i], TraversalOperator::FullSplat(_));
                    let mut end = i + 1;
                    while end < ops.len()
                        && (full
                            && !matches!(
                                ops[end],
                                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_)
                            )
                            || !full && matches!(ops[end], TraversalOperator::GetAttr(_)))
                    {
                        end += 1;
                    }
                    let each = &ops[i + 1..end];
                    value = self.splat(value, each, span.clone())?;
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn splat(
        &mut self,
        value: Value,
        each: &[&TraversalOperator],
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        let (inner, marked) = value.unmark();
        let result = match inner {
            Value::Unknown(_) => Value::unknown(),
            Value::Null(_) => Value::tuple(Vec::new()),
            Value::List(..) | Value::Tuple(_) | Value::Set(..) => {
                let items = inner.as_seq().unwrap_or(&[]);
                // The elements of a sensitive collection are sensitive
                // while they are worked on, so no message shows them.
                let mapped = items
                    .iter()
                    .map(|item| self.traverse(item.clone().marked_if(marked), each, span.clone()))
                    .collect::<Result<Vec<_>>>()?;
                match inner {
                    Value::List(..) | Value::Set(..) => {
                        let types: Vec<Type> = mapped.iter().map(Value::type_of).collect();
                        match unify(&types) {
                            Some(t) if !mapped.is_empty() => {
                                let converted = mapped
                                    .iter()
                                    .map(|v| convert(v, &t))
                                    .collect::<std::result::Result<Vec<_>, _>>();
                                match converted {
                                    Ok(c) => Value::list(t, c),
                                    Err(_) => Value::tuple(mapped),
                                }
                            }
                            _ if mapped.is_empty() => Value::list(Type::Dynamic, mapped),
                            _ => Value::tuple(mapped),
                        }
                    }
                    _ => Value::tuple(mapped),
                }
            }
            // A splat on a single value treats it as a one-element tuple.
            other => Value::tuple(vec![self.traverse(
                other.clone().marked_if(marked),
                each,
                span,
            )?]),
        };
        Ok(result.marked_if(marked))
    }

    fn conditional(
        &mut self,
        c: &hcl::edit::expr::Conditional,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        let cond = self.eval(&c.cond_expr)?;
        let (cond, cond_marked) = cond.unmark();
        // Both results are evaluated so the result type is the same either
        // way; an error in the branch not taken is ignored, which is what
        // makes `x != null ? x.attr : "default"` work.
        let t = self.eval(&c.true_expr);
        let f = self.eval(&c.false_expr);
        let type_of = |r: &Result<Value>| r.as_ref().map_or(Type::Dynamic, Value::type_of);
        let unified = unify(&[type_of(&t), type_of(&f)]).ok_or_else(|| {
            EvalError::new(
                span.clone(),
                "Inconsistent conditional result types",
                format!(
                    "The true and false result expressions must have consistent types. The 'true' value is {}, but the 'false' value is {}.",
                    type_of(&t).friendly_name(),
                    type_of(&f).friendly_name()
                ),
            )
        })?;
        if cond.is_null() {
            return Err(EvalError::new(
                c.cond_expr.span(),
                "Null condition",
                "The condition value is null. Conditions must either be true or false.",
            ));
        }
        if !cond.is_known() {
            return Ok(Value::Unknown(unified).marked_if(cond_marked));
        }
        let chosen = if self.operand_bool(cond, c.cond_expr.span(), "conditional")? {
            t
        } else {
            f
        };
        let chosen = chosen?;
        let converted = convert(&chosen, &unified).unwrap_or(chosen);
        Ok(converted.marked_if(cond_marked))
    }

    fn func_call(
        &mut self,
        f: &hcl::edit::expr::FuncCall,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        let name = if f.name.namespace.is_empty() {
            f.name.name.as_str().to_string()
        } else {
            let mut parts: Vec<&str> = f.name.namespace.iter().map(|n| n.as_str()).collect();
            parts.push(f.name.name.as_str());
            parts.join("::")
        };
        match name.as_str() {
            "try" => return self.try_fn(f, span),
            "can" => return self.can_fn(f, span),
            _ => {}
        }
        let Some(spec) = functions::lookup(&name) else {
            return Err(EvalError::new(
                f.name.name.span().or(span),
                "Call to unknown function",
                format!("There is no function named \"{name}\"."),
            ));
        };
        let mut args = Vec::with_capacity(f.args.len());
        for (i, a) in f.args.iter().enumerate() {
            let v = self.eval(a)?;
            if f.args.expand_final() && i + 1 == f.args.len() {
                let (inner, marked) = v.unmark();
                match inner.as_seq() {
                    Some(items) => args.extend(items.iter().map(|x| x.clone().marked_if(marked))),
                    None if !inner.is_known() => return Ok(Value::Unknown(spec.returns.clone())),
                    None => {
                        return Err(EvalError::new(
                            a.span(),
                            "Invalid expanding argument value",
                            "The expanding argument (indicated by ...) must be of a tuple, list, or set type.",
                        ));
                    }
                }
            } else {
                args.push(v);
            }
        }
        let ctx = FuncContext {
            base_dir: self.scope.base_dir(),
        };
        let result = functions::call(spec, &ctx, &args).map_err(|e| {
            let arg_span = e.arg.and_then(|i| f.args.get(i)).and_then(|a| a.span());
            let message = if e.message.ends_with('.') {
                e.message
            } else {
                format!("{}.", e.message)
            };
            let (summary, detail) = match (e.summary, e.arg) {
                (Some(summary), _) => (summary, message),
                (None, Some(i)) => (
                    "Invalid function argument",
                    format!(
                        "Invalid value for \"{}\" parameter: {message}",
                        spec.param_name(i)
                    ),
                ),
                (None, None) => (
                    "Error in function call",
                    format!("Call to function \"{name}\" failed: {message}"),
                ),
            };
            EvalError::new(arg_span.or(span.clone()), summary, detail)
        })?;
        self.count_built(result, span)
    }

    /// `try(a, b, ...)`: the first argument that evaluates without error.
    fn try_fn(
        &mut self,
        f: &hcl::edit::expr::FuncCall,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        if f.args.is_empty() {
            return Err(EvalError::new(
                span,
                "Invalid function arguments",
                "At least one argument is required.",
            ));
        }
        let mut last_err = None;
        for a in f.args.iter() {
            match self.eval(a) {
                // An unknown result might still fail once known: the whole
                // call is unknown until then.
                Ok(v) if !v.is_wholly_known() => return Ok(Value::unknown()),
                Ok(v) => return Ok(v),
                Err(e) => last_err = Some(e),
            }
        }
        Err(EvalError::new(
            span,
            "Error in function call",
            format!(
                "Call to function \"try\" failed: no expression succeeded:\n- {}",
                last_err.map(|e| e.detail).unwrap_or_default()
            ),
        ))
    }

    fn can_fn(
        &mut self,
        f: &hcl::edit::expr::FuncCall,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        if f.args.len() != 1 {
            return Err(EvalError::new(
                span,
                "Invalid function arguments",
                "Function \"can\" expects exactly 1 argument.",
            ));
        }
        match self.eval(f.args.get(0).expect("one argument")) {
            Ok(v) if !v.is_wholly_known() => Ok(Value::Unknown(Type::Bool)),
            Ok(_) => Ok(Value::Bool(true)),
            Err(_) => Ok(Value::Bool(false)),
        }
    }

    fn binary(
        &mut self,
        b: &hcl::edit::expr::BinaryOp,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        use BinaryOperator as Op;
        let op = *b.operator.value();
        let lhs = self.eval(&b.lhs_expr)?;
        // `&&` and `||` decide from a known left side alone, so
        // `var.x != null && var.x.enabled` does not fail on null.
        if matches!(op, Op::And | Op::Or) {
            let (l, lm) = lhs.unmark();
            if l.is_known() && !l.is_null() {
                let lb = self.operand_bool(l, b.lhs_expr.span(), op_symbol(op))?;
                if op == Op::And && !lb || op == Op::Or && lb {
                    return Ok(Value::Bool(lb).marked_if(lm));
                }
            }
        }
        let rhs = self.eval(&b.rhs_expr)?;
        let (l, lm) = lhs.unmark();
        let (r, rm) = rhs.unmark();
        let marked = lm || rm;
        let result_type = match op {
            Op::Eq
            | Op::NotEq
            | Op::And
            | Op::Or
            | Op::Less
            | Op::LessEq
            | Op::Greater
            | Op::GreaterEq => Type::Bool,
            _ => Type::Number,
        };
        let result = match op {
            Op::Eq | Op::NotEq => match l.equals(r) {
                Some(eq) => Value::Bool(if op == Op::Eq { eq } else { !eq }),
                None => Value::Unknown(Type::Bool),
            },
            _ if !l.is_known() || !r.is_known() => Value::Unknown(result_type),
            Op::And | Op::Or => {
                let lb = self.operand_bool(l, b.lhs_expr.span(), op_symbol(op))?;
                let rb = self.operand_bool(r, b.rhs_expr.span(), op_symbol(op))?;
                Value::Bool(if op == Op::And { lb && rb } else { lb || rb })
            }
            _ => {
                let ln = self.operand_number(l, b.lhs_expr.span(), op_symbol(op))?;
                let rn = self.operand_number(r, b.rhs_expr.span(), op_symbol(op))?;
                let arith = |res: std::result::Result<Number, NumberError>| {
                    res.map(Value::Number).map_err(|e| match e {
                        NumberError::DivisionByZero => EvalError::new(
                            span.clone(),
                            "Operation failed",
                            "Can't divide by zero.",
                        ),
                        NumberError::Overflow => EvalError::new(
                            span.clone(),
                            "Operation failed",
                            "The result is out of the supported number range.",
                        ),
                    })
                };
                match op {
                    Op::Plus => arith(ln.checked_add(&rn))?,
                    Op::Minus => arith(ln.checked_sub(&rn))?,
                    Op::Mul => arith(ln.checked_mul(&rn))?,
                    Op::Div => arith(ln.checked_div(&rn))?,
                    Op::Mod => arith(ln.checked_rem(&rn))?,
                    Op::Less => Value::Bool(ln < rn),
                    Op::LessEq => Value::Bool(ln <= rn),
                    Op::Greater => Value::Bool(ln > rn),
                    Op::GreaterEq => Value::Bool(ln >= rn),
                    _ => unreachable!("logical and equality operators handled above"),
                }
            }
        };
        Ok(result.marked_if(marked))
    }

    fn operand_number(&self, v: &Value, span: Option<Range<usize>>, op: &str) -> Result<Number> {
        if v.is_null() {
            return Err(EvalError::new(
                span,
                "Invalid operand",
                format!(
                    "Unsuitable value for operand of \"{op}\": a number is required, but the value is null."
                ),
            ));
        }
        convert(v, &Type::Number)
            .ok()
            .and_then(|n| n.as_number())
            .ok_or_else(|| {
                EvalError::new(
                    span,
                    "Invalid operand",
                    format!("Unsuitable value for operand of \"{op}\": a number is required."),
                )
            })
    }

    fn operand_bool(&self, v: &Value, span: Option<Range<usize>>, op: &str) -> Result<bool> {
        if v.is_null() {
            return Err(EvalError::new(
                span,
                "Invalid operand",
                format!(
                    "Unsuitable value for operand of \"{op}\": a bool is required, but the value is null."
                ),
            ));
        }
        convert(v, &Type::Bool)
            .ok()
            .and_then(|b| b.as_bool())
            .ok_or_else(|| {
                EvalError::new(
                    span,
                    "Invalid operand",
                    format!("Unsuitable value for operand of \"{op}\": a bool is required."),
                )
            })
    }

    fn for_expr(&mut self, f: &ForExpr, span: Option<Range<usize>>) -> Result<Value> {
        let collection = self.eval(&f.intro.collection_expr)?;
        let (collection, marked) = collection.unmark();
        if !collection.is_known() {
            return Ok(Value::unknown().marked_if(marked));
        }
        let pairs = iteration_pairs(collection, marked).ok_or_else(|| {
            let detail = if collection.is_null() {
                "A null value cannot be used as the collection in a 'for' expression.".to_string()
            } else {
                format!(
                    "A value of type {} cannot be used as the collection in a 'for' expression.",
                    collection.type_of().friendly_name()
                )
            };
            EvalError::new(
                f.intro.collection_expr.span().or(span.clone()),
                "Iteration over non-iterable value",
                detail,
            )
        })?;
        let value_var = f.intro.value_var.as_str().to_string();
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let mut tuple = Vec::new();
        let mut object: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        let mut marked = marked;
        for (k, v) in pairs {
            let depth = self.bindings.len();
            if let Some(kv) = &key_var {
                self.bindings.push((kv.clone(), k));
            }
            self.bindings.push((value_var.clone(), v));
            let step = self.for_step(
                f,
                &mut tuple,
                &mut object,
                &mut groups,
                &mut unknown,
                &mut marked,
            );
            self.bindings.truncate(depth);
            step?;
        }
        if unknown {
            return Ok(Value::unknown().marked_if(marked));
        }
        let result = if f.key_expr.is_some() {
            if f.grouping {
                Value::object(
                    groups
                        .into_iter()
                        .map(|(k, vs)| (k, Value::tuple(vs)))
                        .collect(),
                )
            } else {
                Value::object(object)
            }
        } else {
            Value::tuple(tuple)
        };
        self.count_built(result.marked_if(marked), span)
    }

    fn for_step(
        &mut self,
        f: &ForExpr,
        tuple: &mut Vec<Value>,
        object: &mut BTreeMap<String, Value>,
        groups: &mut BTreeMap<String, Vec<Value>>,
        unknown: &mut bool,
        marked: &mut bool,
    ) -> Result<()> {
        if let Some(cond) = &f.cond {
            let c = self.eval(&cond.expr)?;
            let (c, m) = c.unmark();
            *marked |= m;
            if !c.is_known() {
                *unknown = true;
                return Ok(());
            }
            if !self.operand_bool(c, cond.expr.span(), "if")? {
                return Ok(());
            }
        }
        match &f.key_expr {
            None => tuple.push(self.eval(&f.value_expr)?),
            Some(key_expr) => {
                let key = self.eval(key_expr)?;
                let (key, key_marked) = key.unmark();
                *marked |= key_marked;
                if !key.is_known() {
                    *unknown = true;
                    return Ok(());
                }
                let key = convert(key, &Type::String)
                    .ok()
                    .filter(|k| !k.is_null())
                    .and_then(|k| k.as_str().map(str::to_string))
                    .ok_or_else(|| {
                        EvalError::new(
                            key_expr.span(),
                            "Invalid object key",
                            "The key expression produced an invalid result: string required.",
                        )
                    })?;
                let value = self.eval(&f.value_expr)?;
                if f.grouping {
                    groups.entry(key).or_default().push(value);
                } else {
                    match object.entry(key) {
                        std::collections::btree_map::Entry::Occupied(e) => {
                            let which = if key_marked {
                                "the same sensitive key".to_string()
                            } else {
                                format!("the key {:?}", e.key())
                            };
                            return Err(EvalError::new(
                                key_expr.span(),
                                "Duplicate object key",
                                format!(
                                    "Two different items produced {which} in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key."
                                ),
                            ));
                        }
                        std::collections::btree_map::Entry::Vacant(e) => {
                            e.insert(value);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn template(&mut self, t: &Template, span: Option<Range<usize>>) -> Result<Value> {
        // A template that is exactly one interpolation yields the value
        // itself, not its string form: `"${var.list}"` is a list.
        if let Some(Element::Interpolation(i)) = t.as_single_element() {
            return self.eval(&i.expr);
        }
        let mut out = TemplateOutput {
            text: String::new(),
            unknown: false,
            marked: false,
        };
        self.template_parts(t, false, false, &mut out, span.clone())?;
        let value = if out.unknown {
            Value::Unknown(Type::String)
        } else {
            Value::string(out.text)
        };
        self.count_built(value.marked_if(out.marked), span)
    }

    fn template_parts(
        &mut self,
        t: &Template,
        strip_first: bool,
        strip_last: bool,
        out: &mut TemplateOutput,
        span: Option<Range<usize>>,
    ) -> Result<()> {
        let elements: Vec<&Element> = t.iter().collect();
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(lit) => {
                    let mut s = lit.value().as_str();
                    let strip_start = if i == 0 {
                        strip_first
                    } else {
                        strips_after(elements[i - 1])
                    };
                    let strip_end = if i + 1 == elements.len() {
                        strip_last
                    } else {
                        strips_before(elements[i + 1])
                    };
                    if strip_start {
                        s = s.trim_start();
                    }
                    if strip_end {
                        s = s.trim_end();
                    }
                    out.push_str(s, span.clone())?;
                }
                Element::Interpolation(interp) => {
                    let v = self.eval(&interp.expr)?;
                    out.push_value(&v, interp.expr.span().or(span.clone()))?;
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        let cond = self.eval(&d.if_expr.cond_expr)?;
                        let (cond, m) = cond.unmark();
                        out.marked |= m;
                        if !cond.is_known() {
                            out.unknown = true;
                            continue;
                        }
                        let truth = self.operand_bool(cond, d.if_expr.cond_expr.span(), "if")?;
                        let if_end = match &d.else_expr {
                            Some(e) => e.strip.strip_start(),
                            None => d.endif_expr.strip.strip_start(),
                        };
                        if truth {
                            self.template_parts(
                                &d.if_expr.template,
                                d.if_expr.strip.strip_end(),
                                if_end,
                                out,
                                span.clone(),
                            )?;
                        } else if let Some(e) = &d.else_expr {
                            self.template_parts(
                                &e.template,
                                e.strip.strip_end(),
                                d.endif_expr.strip.strip_start(),
                                out,
                                span.clone(),
                            )?;
                        }
                    }
                    Directive::For(d) => {
                        let collection = self.eval(&d.for_expr.collection_expr)?;
                        let (collection, m) = collection.unmark();
                        out.marked |= m;
                        if !collection.is_known() {
                            out.unknown = true;
                            continue;
                        }
                        let pairs = iteration_pairs(collection, m).ok_or_else(|| {
                            EvalError::new(
                                d.for_expr.collection_expr.span(),
                                "Iteration over non-iterable value",
                                "The collection of a template 'for' directive must be a list, set, map or object.",
                            )
                        })?;
                        for (k, v) in pairs {
                            let depth = self.bindings.len();
                            if let Some(kv) = &d.for_expr.key_var {
                                self.bindings.push((kv.as_str().to_string(), k));
                            }
                            self.bindings
                                .push((d.for_expr.value_var.as_str().to_string(), v));
                            let r = self.template_parts(
                                &d.for_expr.template,
                                d.for_expr.strip.strip_end(),
                                d.endfor_expr.strip.strip_start(),
                                out,
                                span.clone(),
                            );
                            self.bindings.truncate(depth);
                            r?;
                        }
                    }
                },
            }
        }
        Ok(())
    }
}

struct TemplateOutput {
    text: String,
    unknown: bool,
    marked: bool,
}

impl TemplateOutput {
    /// Appends text, refusing a result longer than a string may be
    /// before it is built: a template `for` can repeat a long string
    /// without end.
    fn push_str(&mut self, s: &str, span: Option<Range<usize>>) -> Result<()> {
        if let Err(message) = limits::check_string(self.text.len().saturating_add(s.len())) {
            return Err(EvalError::new(
                span,
                "Template result too long",
                format!("{}.", capitalized(&message)),
            ));
        }
        self.text.push_str(s);
        Ok(())
    }

    fn push_value(&mut self, v: &Value, span: Option<Range<usize>>) -> Result<()> {
        let (v, m) = v.unmark();
        self.marked |= m;
        if !v.is_known() {
            self.unknown = true;
            return Ok(());
        }
        if v.is_null() {
            return Err(EvalError::new(
                span,
                "Invalid template interpolation value",
                "The expression result is null. Cannot include a null value in a string template.",
            ));
        }
        match convert(v, &Type::String) {
            Ok(s) => self.push_str(s.as_str().unwrap_or_default(), span),
            Err(_) => Err(EvalError::new(
                span,
                "Invalid template interpolation value",
                format!(
                    "Cannot include the given value in a string template: string required, but have {}.",
                    v.type_of().friendly_name()
                ),
            )),
        }
    }
}

/// Whether the element after a literal strips the literal's end (`~` on
/// its opening side).
fn strips_before(element: &Element) -> bool {
    match element {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => i.if_expr.strip.strip_start(),
            Directive::For(f) => f.for_expr.strip.strip_start(),
        },
    }
}

/// Whether the element before a literal strips the literal's start (`~`
/// on its closing side).
fn strips_after(element: &Element) -> bool {
    match element {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => i.endif_expr.strip.strip_end(),
            Directive::For(f) => f.endfor_expr.strip.strip_end(),
        },
    }
}

/// The (key, value) pairs a `for` iterates: index and element for lists
/// and tuples, the element twice for sets, key and value for maps and
/// objects. `None` for anything else. The pairs of a `marked` (sensitive)
/// collection are marked: what the loop computes from them is sensitive
/// too, and no error about them may show them.
fn iteration_pairs(collection: &Value, marked: bool) -> Option<Vec<(Value, Value)>> {
    let pairs = match collection {
        Value::List(_, items) | Value::Tuple(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::number(Number::from_usize(i)), v.clone()))
                .collect(),
        ),
        Value::Set(_, items) => Some(items.iter().map(|v| (v.clone(), v.clone())).collect()),
        Value::Map(_, items) | Value::Object(items) => Some(
            items
                .iter()
                .map(|(k, v)| (Value::string(k.as_str()), v.clone()))
                .collect(),
        ),
        _ => None,
    }?;
    if !marked {
        return Some(pairs);
    }
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k.mark_sensitive(), v.mark_sensitive()))
            .collect(),
    )
}

/// A message as a sentence: its first letter in capitals.
fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn op_symbol(op: BinaryOperator) -> &'static str {
    use BinaryOperator as Op;
    match op {
        Op::Eq => "==",
        Op::NotEq => "!=",
        Op::LessEq => "<=",
        Op::GreaterEq => ">=",
        Op::Less => "<",
        Op::Greater => ">",
        Op::Mul => "*",
        Op::Div => "/",
        Op::Mod => "%",
        Op::And => "&&",
        Op::Or => "||",
        Op::Plus => "+",
        Op::Minus => "-",
    }
}

/// `value.name`: an attribute of an object or an element of a map.
pub fn get_attr(value: &Value, name: &str, span: Option<Range<usize>>) -> Result<Value> {
    let (inner, marked) = value.unmark();
    let result = match inner {
        Value::Unknown(Type::Object(attrs)) => match attrs.get(name) {
            Some(t) => Value::Unknown(t.clone()),
            None => return Err(no_attr(name, span)),
        },
        Value::Unknown(Type::Map(elem)) => Value::Unknown((**elem).clone()),
        Value::Unknown(_) => Value::unknown(),
        Value::Null(_) => {
            return Err(EvalError::new(
                span,
                "Attempt to get attribute from null value",
                "This value is null, so it does not have any attributes.",
            ));
        }
        Value::Object(attrs) => attrs
            .get(name)
            .cloned()
            .ok_or_else(|| no_attr(name, span))?,
        Value::Map(_, items) => items.get(name).cloned().ok_or_else(|| {
            EvalError::new(
                span,
                "Missing map element",
                format!("This map does not have an element with the key {name:?}."),
            )
        })?,
        Value::List(..) | Value::Tuple(_) | Value::Set(..) => {
            return Err(EvalError::new(
                span,
                "Unsupported attribute",
                format!(
                    "Can't access attributes on a list of objects. Did you mean to access attribute {name:?} for a specific element of the list, or across all elements of the list?"
                ),
            ));
        }
        other => {
            return Err(EvalError::new(
                span,
                "Unsupported attribute",
                format!(
                    "Can't access attributes on a primitive-typed value ({}).",
                    other.type_of().friendly_name()
                ),
            ));
        }
    };
    Ok(result.marked_if(marked))
}

fn no_attr(name: &str, span: Option<Range<usize>>) -> EvalError {
    EvalError::new(
        span,
        "Unsupported attribute",
        format!("This object does not have an attribute named {name:?}."),
    )
}

/// `value[key]`.
pub fn index(value: &Value, key: &Value, span: Option<Range<usize>>) -> Result<Value> {
    let (inner, marked) = value.unmark();
    let (key, key_marked) = key.unmark();
    let marked = marked || key_marked;
    if key.is_null() {
        return Err(EvalError::new(
            span,
            "Invalid index",
            "Can't use a null value as an indexing key.",
        ));
    }
    if !inner.is_known() || !key.is_known() {
        let elem = match inner {
            Value::Unknown(Type::List(e) | Type::Map(e)) => (**e).clone(),
            Value::List(e, _) | Value::Map(e, _) => e.clone(),
            _ => Type::Dynamic,
        };
        return Ok(Value::Unknown(elem).marked_if(marked));
    }
    let result = match inner {
        Value::List(..) | Value::Tuple(_) => {
            let items = inner.as_seq().unwrap_or(&[]);
            let n = convert(key, &Type::Number).ok().and_then(|n| n.as_number()).ok_or_else(|| {
                EvalError::new(span.clone(), "Invalid index", "The given key does not identify an element in this collection value: a number is required.")
            })?;
            let i = n.to_i64().filter(|i| *i >= 0).ok_or_else(|| {
                EvalError::new(
                    span.clone(),
                    "Invalid index",
                    if n.is_negative() {
                        "The given key does not identify an element in this collection value: a negative number is not a valid index for a sequence."
                    } else {
                        "The given key does not identify an element in this collection value: the given index is not a whole number."
                    },
                )
            })?;
            items.get(i as usize).cloned().ok_or_else(|| {
                EvalError::new(
                    span.clone(),
                    "Invalid index",
                    "The given key does not identify an element in this collection value: the given index is greater than or equal to the length of the collection.",
                )
            })?
        }
        Value::Map(..) | Value::Object(_) => {
            let k = convert(key, &Type::String).ok().and_then(|k| k.as_str().map(str::to_string)).ok_or_else(|| {
                EvalError::new(span.clone(), "Invalid index", "The given key does not identify an element in this collection value: string required.")
            })?;
            let entries = inner.as_entries().expect("map or object");
            match entries.get(&k) {
                Some(v) => v.clone(),
                // A sensitive key is not named.
                None if matches!(inner, Value::Object(_)) && !key_marked => {
                    return Err(EvalError::new(
                        span,
                        "Invalid index",
                        format!(
                            "The given key does not identify an element in this collection value: this object does not have an attribute named {k:?}."
                        ),
                    ));
                }
                None => {
                    return Err(EvalError::new(
                        span,
                        "Invalid index",
                        "The given key does not identify an element in this collection value.",
                    ));
                }
            }
        }
        Value::Set(..) => {
            return Err(EvalError::new(
                span,
                "Invalid index",
                "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.",
            ));
        }
        other => {
            return Err(EvalError::new(
                span,
                "Invalid index",
                format!(
                    "This value does not have any indices: {} values cannot be indexed.",
                    other.type_of().friendly_name()
                ),
            ));
        }
    };
    Ok(result.marked_if(marked))
}

/// A scope with no references at all: for `templatefile`, whose templates
/// see only the variables passed in.
struct NoReferences<'a> {
    base_dir: &'a Path,
}

impl Scope for NoReferences<'_> {
    fn resolve(&self, reference: &Reference) -> std::result::Result<Value, ScopeError> {
        Err(ScopeError {
            summary: "Invalid reference".into(),
            detail: format!(
                "A template file can only use the variables passed to templatefile; {reference} is not available here."
            ),
        })
    }

    fn base_dir(&self) -> &Path {
        self.base_dir
    }
}

/// Evaluates template source text (the contents of a `templatefile`)
/// with `vars` as its only names.
pub fn eval_template_source(
    source: &str,
    vars: &BTreeMap<String, Value>,
    base_dir: &Path,
) -> std::result::Result<Value, String> {
    let template = hcl::edit::parser::parse_template(source).map_err(|e| {
        format!(
            "failed to parse template: line {}, column {}: {}",
            e.location().line(),
            e.location().column(),
            e.message()
        )
    })?;
    let scope = NoReferences { base_dir };
    let bindings = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut evaluator = Evaluator::with_bindings(&scope, bindings);
    let mut out = TemplateOutput {
        text: String::new(),
        unknown: false,
        marked: false,
    };
    evaluator
        .template_parts(&template, false, false, &mut out, None)
        .map_err(|e| format!("{}: {}", e.summary, e.detail))?;
    let value = if out.unknown {
        Value::Unknown(Type::String)
    } else {
        Value::string(out.text)
    };
    Ok(value.marked_if(out.marked))
}

/// The value of each reference in an expression whose source is in
/// `text`, as Terraform lists them under a failed condition: (`var.size`, `is 20`).
pub fn reference_values(
    text: &str,
    expr: &Expression,
    eval: &mut Evaluator<'_>,
) -> Vec<(String, String)> {
    let mut values = std::collections::BTreeMap::new();
    for found in crate::lang::refs::references(expr).refs {
        let Some(traversal) = found.span.and_then(|s| text.get(s)) else {
            continue;
        };
        let traversal = traversal.trim();
        if values.contains_key(traversal) {
            continue;
        }
        let Ok(parsed) = hcl::edit::parser::parse_expr(traversal) else {
            continue;
        };
        match eval.eval(&parsed) {
            // Naming a secret beside a failure suggests it is the
            // cause, and says something about it: as Terraform, leave
            // it out.
            Ok(v) if v.contains_sensitive() => {}
            Ok(v) => {
                values.insert(traversal.to_string(), v.statement());
            }
            Err(_) => {}
        }
    }
    values.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A scope with a few fixed values, for evaluating test expressions.
    struct TestScope {
        vars: BTreeMap<String, Value>,
        dir: PathBuf,
    }

    impl Scope for TestScope {
        fn resolve(&self, reference: &Reference) -> std::result::Result<Value, ScopeError> {
            match reference {
                Reference::Var(n) => self.vars.get(n).cloned().ok_or(ScopeError {
                    summary: "Reference to undeclared input variable".into(),
                    detail: format!("An input variable with the name {n:?} has not been declared."),
                }),
                Reference::CountIndex => Ok(Value::from(3)),
                Reference::Resource { name, .. } if name == "pending" => Ok(Value::object(
                    [
                        ("id".to_string(), Value::Unknown(Type::String)),
                        ("name".to_string(), Value::from("p")),
                    ]
                    .into(),
                )),
                other => Err(ScopeError {
                    summary: "Unavailable".into(),
                    detail: other.to_string(),
                }),
            }
        }
        fn base_dir(&self) -> &Path {
            &self.dir
        }
    }

    fn scope() -> TestScope {
        let mut vars = BTreeMap::new();
        vars.insert(
            "names".to_string(),
            Value::list(Type::String, vec!["a".into(), "b".into()]),
        );
        vars.insert(
            "secret".to_string(),
            Value::from("hunter2").mark_sensitive(),
        );
        vars.insert("n".to_string(), Value::from(5));
        vars.insert("nothing".to_string(), Value::NULL);
        TestScope {
            vars,
            dir: PathBuf::from("."),
        }
    }

    fn eval(src: &str) -> Result<Value> {
        let expr: Expression = src.parse().unwrap_or_else(|e| panic!("{src}: {e}"));
        Evaluator::new(&scope()).eval(&expr)
    }

    fn json(src: &str) -> String {
        eval(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .to_json()
            .to_string()
    }

    #[test]
    fn an_expression_that_builds_too_much_is_refused_at_its_place() {
        // Each inner list is small, but a `for` builds one per element.
        let src = "[for i in range(1000) : [for j in range(1000) : [for k in range(100) : k]]]";
        let e = eval(src).unwrap_err();
        assert_eq!(e.summary, "Expression builds too much");
        assert_eq!(
            e.detail,
            "This expression builds more than 10000000 elements in all, the most one expression may build."
        );
        // The call that went past the limit: `range(100)`, innermost.
        assert_eq!(e.span, Some(58..68));
        // What stays within the limits is built.
        let ok = eval("length(flatten([for i in range(1000) : [for j in range(1000) : j]]))");
        assert_eq!(ok.ok(), Some(Value::from(1_000_000)));
    }

    #[test]
    fn a_template_longer_than_a_string_may_be_is_refused_before_it_is_built() {
        let src = "\"%{ for i in range(1000) }${format(\"%10000000s\", i)}%{ endfor }\"";
        let e = eval(src).unwrap_err();
        assert_eq!(e.summary, "Template result too long");
        assert_eq!(
            e.detail,
            "The result would be longer than 64 MiB, the most a string may hold."
        );
    }

    #[test]
    fn literals_and_arithmetic() {
        assert_eq!(json("1 + 2 * 3"), "7");
        assert_eq!(json("\"5\" + 1"), "6");
        assert_eq!(json("-5 % 3"), "-2");
        assert_eq!(json("0.1 + 0.2"), "0.3");
        assert_eq!(json("!true || 2 >= 2"), "true");
        assert_eq!(json("[1, \"a\"] == [1, \"a\"]"), "true");
        assert_eq!(json("1 == \"1\""), "false");
    }

    #[test]
    fn templates_unwrap_single_interpolations() {
        assert_eq!(json(r#""${var.n + 1}""#), "6");
        assert_eq!(
            eval(r#""${var.names}""#).unwrap().type_of(),
            Type::list(Type::String)
        );
        assert_eq!(
            json(r#""x-${var.n}-%{ if var.n > 3 }big%{ else }small%{ endif }""#),
            r#""x-5-big""#
        );
        assert_eq!(
            json(r#""%{ for i, s in var.names ~} ${i}=${s} %{~ endfor }""#),
            r#""0=a1=b""#
        );
        assert_eq!(json(r#""$${lit} %%{x}""#), r#""${lit} %{x}""#);
    }

    #[test]
    fn references_index_and_splat() {
        assert_eq!(json("var.names[1]"), r#""b""#);
        assert_eq!(json("var.names.0"), r#""a""#);
        assert_eq!(json("[{a = 1}, {a = 2}][*].a"), "[1,2]");
        assert_eq!(json("[{a = {b = 1}}][*].a.b"), "[1]");
        assert_eq!(json("var.nothing[*]"), "[]");
        assert_eq!(json("count.index"), "3");
        assert!(
            eval("var.names[2]")
                .unwrap_err()
                .detail
                .contains("greater than or equal to the length")
        );
        assert_eq!(
            eval("var.nope").unwrap_err().summary,
            "Reference to undeclared input variable"
        );
    }

    #[test]
    fn for_expressions() {
        assert_eq!(
            json("[for s in var.names : upper(s) if s != \"a\"]"),
            r#"["B"]"#
        );
        assert_eq!(json("{for i, s in var.names : s => i}"), r#"{"a":0,"b":1}"#);
        assert_eq!(
            json("{for s in [\"a\", \"b\", \"a\"] : s => s...}"),
            r#"{"a":["a","a"],"b":["b"]}"#
        );
        assert!(
            eval("{for s in [\"a\", \"a\"] : s => s}")
                .unwrap_err()
                .summary
                .contains("Duplicate")
        );
    }

    #[test]
    fn conditionals_unify_and_ignore_the_branch_not_taken() {
        assert_eq!(json("false ? \"a\" : 1"), r#""1""#);
        assert_eq!(
            eval("true ? [1] : []").unwrap().type_of(),
            Type::list(Type::Number)
        );
        assert_eq!(
            json("var.nothing != null ? var.nothing.x : \"dflt\""),
            r#""dflt""#
        );
        assert!(
            eval("true ? true : 1")
                .unwrap_err()
                .summary
                .contains("Inconsistent")
        );
    }

    #[test]
    fn unknowns_propagate_but_known_parts_stay() {
        let v = eval("terraform_data.pending").unwrap();
        assert!(!v.is_wholly_known());
        assert_eq!(json("terraform_data.pending.name"), r#""p""#);
        assert!(
            !eval("\"x-${terraform_data.pending.id}\"")
                .unwrap()
                .is_known()
        );
        assert_eq!(
            eval("terraform_data.pending.id == \"x\"")
                .unwrap()
                .type_of(),
            Type::Bool
        );
        assert!(
            !eval("terraform_data.pending.id == \"x\"")
                .unwrap()
                .is_known()
        );
        assert_eq!(json("false && terraform_data.pending.id == \"x\""), "false");
    }

    #[test]
    fn sensitive_marks_travel() {
        assert!(eval("\"pw=${var.secret}\"").unwrap().is_sensitive());
        assert!(eval("var.secret == \"x\"").unwrap().is_sensitive());
        let v = eval("{ a = var.secret, b = 1 }").unwrap();
        assert!(!v.is_sensitive() && v.contains_sensitive());
        assert!(
            !eval("[for s in var.names : s]")
                .unwrap()
                .contains_sensitive()
        );
    }

    /// A scope whose variables are all sensitive and built around a
    /// secret word, for checking that no error shows them.
    fn secret_scope(word: &str) -> TestScope {
        let list = Value::list(Type::String, vec![word.into(), word.into()]);
        let map = Value::map(Type::String, [(word.to_string(), Value::from(word))].into());
        let object = Value::object([("k".to_string(), Value::from(word))].into());
        let vars = [
            ("s", Value::from(word)),
            ("sl", list),
            ("sm", map),
            ("so", object),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.mark_sensitive()))
        .collect();
        TestScope {
            vars,
            dir: PathBuf::from("."),
        }
    }

    /// Expressions that fail on their sensitive operands, in every kind
    /// of expression: no message says anything about the secret, so two
    /// secrets of the same shape give the very same error.
    #[test]
    fn no_evaluation_error_depends_on_a_sensitive_value() {
        let (word_a, word_b) = ("Kpqz7Rvtm", "Wxyn3Hlsj");
        let (scope_a, scope_b) = (secret_scope(word_a), secret_scope(word_b));
        let failing = [
            "tonumber(var.s)",
            "var.s + 1",
            "!var.s",
            "var.s ? 1 : 2",
            "var.s[0]",
            "var.s.attr",
            "var.so[var.s]",
            "var.sm[upper(var.s)]",
            "var.sm[\"zz\"]",
            "var.sm.zz",
            "{ a = 1 }[var.s]",
            "[for c in var.sl : tonumber(c)]",
            "[for c in var.sl : c if c]",
            "[for k, v in var.sm : tonumber(k)]",
            "[for k, v in var.so : tonumber(v)]",
            "{ for c in var.sl : c => 1 }",
            "\"%{ for c in var.sl }${tonumber(c)}%{ endfor }\"",
            "\"%{ if var.s }x%{ endif }\"",
            "\"x${var.so}\"",
            "var.sl[*].x",
            "[for c in var.sl : c][*][var.s]",
            "lookup(var.sm, upper(var.s))",
            "element(var.sl, var.s)",
            "jsondecode(var.s)",
            "format(\"%d\", var.s)",
            "try(tonumber(var.s), tobool(var.s))",
            "cidrhost(var.s, 1)",
            "regex(var.s, \"x\")",
            "file(var.s)",
            "base64decode(var.s)",
        ];
        for src in failing {
            let expr: Expression = src.parse().unwrap_or_else(|e| panic!("{src}: {e}"));
            let a = Evaluator::new(&scope_a).eval(&expr);
            let b = Evaluator::new(&scope_b).eval(&expr);
            let (Err(a), Err(b)) = (a, b) else {
                panic!("{src} should fail");
            };
            for word in [word_a, word_b] {
                assert!(!a.to_string().contains(word), "{src}: {a}");
            }
            assert_eq!(a, b, "{src}");
        }
    }

    #[test]
    fn elements_of_a_sensitive_collection_are_sensitive_while_iterated() {
        let scope = secret_scope("pw");
        let eval = |src: &str| {
            let expr: Expression = src.parse().unwrap_or_else(|e| panic!("{src}: {e}"));
            Evaluator::new(&scope)
                .eval(&expr)
                .unwrap_or_else(|e| panic!("{src}: {e}"))
        };
        // A nonsensitive() of the result reveals its structure only.
        let v = eval("nonsensitive([for c in var.sl : upper(c)])");
        assert!(!v.is_sensitive());
        assert!(
            v.as_seq()
                .is_some_and(|s| s.iter().all(Value::is_sensitive))
        );
        let v = eval("nonsensitive(var.sl[*])");
        assert!(
            v.as_seq()
                .is_some_and(|s| s.iter().all(Value::is_sensitive))
        );
        let v = eval("nonsensitive(\"%{ for c in var.sl }${c}%{ endfor }\")");
        assert!(!v.is_sensitive(), "nonsensitive unmarks the text");
        let e = Evaluator::new(&scope)
            .eval(&"{ for c in var.sl : c => 1 }".parse().expect("expression"))
            .expect_err("duplicate keys");
        assert_eq!(
            e.detail,
            "Two different items produced the same sensitive key in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key."
        );
    }

    #[test]
    fn errors_point_at_the_sub_expression() {
        let src = "1 + var.names";
        let err = eval(src).unwrap_err();
        assert_eq!(err.span, Some(4..13));
        assert!(err.detail.contains("a number is required"));
    }

    /// Evaluates attribute `x` of a one-attribute body to a string.
    pub(crate) fn eval_body_attr(body: &str) -> String {
        let body = hcl::edit::parser::parse_body(body).unwrap_or_else(|e| panic!("{e}"));
        let attr = body.get_attribute("x").expect("attribute x");
        let v = Evaluator::new(&scope())
            .eval(&attr.value)
            .unwrap_or_else(|e| panic!("{e}"));
        v.as_str().expect("a string").to_string()
    }

    #[test]
    fn heredocs_strip_indentation() {
        let expr_src = "<<-EOT\n    hello\n      ${\"world\"}\n    ${\"interp\"} at start\n  EOT\n";
        let body = hcl::edit::parser::parse_body(&format!("x = {expr_src}")).unwrap();
        let attr = body.get_attribute("x").unwrap();
        let v = Evaluator::new(&scope()).eval(&attr.value).unwrap();
        assert_eq!(v.as_str(), Some("hello\n  world\ninterp at start\n"));
    }

    #[test]
    fn template_files_see_only_their_variables() {
        let vars: BTreeMap<String, Value> = [("name".to_string(), Value::from("web"))].into();
        let v = eval_template_source("hello ${name}", &vars, Path::new(".")).unwrap();
        assert_eq!(v.as_str(), Some("hello web"));
        let err = eval_template_source("${var.x}", &vars, Path::new(".")).unwrap_err();
        assert!(err.contains("only use the variables passed"));
    }
}
