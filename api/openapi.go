package api

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/popek-vm/popek/vmm"
)

// openAPIDocument describes the routes as OpenAPI 3.0. Schemas are derived
// from the Go types the handlers encode and decode, so they cannot drift.
func openAPIDocument(routes []route) map[string]any {
	sg := &schemaGen{defs: map[string]any{}}
	paths := map[string]any{}
	for _, rt := range routes {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"responses":   responses(sg, rt),
		}
		if len(rt.Params) > 0 {
			var ps []any
			for _, p := range rt.Params {
				ps = append(ps, map[string]any{
					"name": p.Name, "in": p.In, "required": p.In == "path",
					"description": p.Desc, "schema": map[string]any{"type": p.Type},
				})
			}
			op["parameters"] = ps
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "description": rt.BodyDesc, "content": content(sg, rt.Body)}
		}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	sg.schema(reflect.TypeOf(ErrorBody{}))
	sg.schema(eventSchema)
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "popek hypervisor API",
			"version":     "1",
			"description": "Manage popek VMs. Served on a Unix socket; over TCP every request needs Authorization: Bearer TOKEN. Errors are {\"error\": \"message\"}.",
		},
		"paths":      paths,
		"components": map[string]any{"schemas": sg.defs, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security":   []any{map[string]any{}, map[string]any{"bearer": []any{}}},
	}
}

func operationID(rt route) string {
	id := strings.ToLower(rt.Method)
	for _, part := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		part = strings.Trim(part, "{}")
		part = strings.TrimSuffix(part, ".json")
		if part != "" {
			id += strings.ToUpper(part[:1]) + part[1:]
		}
	}
	return id
}

func responses(sg *schemaGen, rt route) map[string]any {
	ok := map[string]any{"description": rt.OKDesc}
	if rt.OKDesc == "" {
		ok["description"] = http.StatusText(rt.OKStatus)
	}
	if rt.OK != nil {
		ok["content"] = content(sg, rt.OK)
	}
	out := map[string]any{strconv.Itoa(rt.OKStatus): ok}
	errRef := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/ErrorBody"}}}
	for _, code := range rt.Errors {
		out[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code), "content": errRef}
	}
	return out
}

func content(sg *schemaGen, body any) map[string]any {
	if mt, ok := body.(mediaType); ok {
		schema := map[string]any{"type": "string"}
		if mt == "application/octet-stream" {
			schema["format"] = "binary"
		}
		return map[string]any{string(mt): map[string]any{"schema": schema}}
	}
	s := sg.schema(reflect.TypeOf(body))
	c := map[string]any{"application/json": map[string]any{"schema": s}}
	if _, isConfig := body.(vmm.Config); isConfig {
		c["application/yaml"] = map[string]any{"schema": s}
	}
	return c
}

// schemaGen turns Go types into JSON schemas, named structs as components.
type schemaGen struct {
	defs map[string]any
}

var (
	timeType = reflect.TypeOf(time.Time{})
	sizeType = reflect.TypeOf(vmm.Size(""))
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == sizeType:
		return map[string]any{"type": "string", "description": "a size: a number with an optional K, M, G or T suffix (binary units), e.g. 256M"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		if _, ref := s["$ref"]; ref {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		s["nullable"] = true
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, done := g.defs[name]; done {
			return ref
		}
		g.defs[name] = map[string]any{} // placeholder for recursive types
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			fname, opts, _ := strings.Cut(tag, ",")
			if fname == "" {
				fname = f.Name
			}
			props[fname] = g.schema(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, fname)
			}
		}
		def := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			def["required"] = required
		}
		g.defs[name] = def
		return ref
	}
	return map[string]any{}
}
