// pod-backends: the containers of the testbed's pods. kwok runs pods without containers; its
// kubelet endpoints forward a pod's port to an address named in a PortForward object and serve
// a container's log from the file a Logs object names. This process watches the pods and, for
// each one scheduled and not terminating, listens on a loopback port per container port (an
// HTTP echo or a TCP echo, as the demo cluster's backends answer), writes a few log lines per
// container, and hands both to kwok as objects owned by the pod (the garbage collector removes
// them with it). Then it marks the pod (annotation testbed.hasura-tui.dev/backend: serving),
// and only a marked pod turns Ready (scripts/testbed-up adds that to kwok's pod-ready Stage),
// as a readiness probe keeps a real pod out of its Service until the app listens. When a pod
// goes, its listeners and their open connections close, as a container's sockets do when it
// dies.
//
// The HTTP echo answers as the demo's does (src/demo/http_echo.rs): {"microservice", "pod",
// "method", "path", "headers"}, so tests read the same answer from both.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// servingAnnotation marks a pod whose backend is registered with kwok: kwok's pod-ready
// Stage waits for it.
const servingAnnotation = "testbed.hasura-tui.dev/backend"

var (
	portForwards = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}
	logObjects   = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}
)

// backend is what serves one pod: its listeners and the connections they accepted.
type backend struct {
	listeners []net.Listener
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
}

func (b *backend) track(c net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.conns[c] = struct{}{}
	return true
}

func (b *backend) forget(c net.Conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

func (b *backend) close() {
	b.mu.Lock()
	b.closed = true
	conns := b.conns
	b.conns = nil
	b.mu.Unlock()
	for _, l := range b.listeners {
		_ = l.Close()
	}
	for c := range conns {
		_ = c.Close()
	}
}

type agent struct {
	clients kubernetes.Interface
	dyn     dynamic.Interface
	logsDir string
	mu      sync.Mutex
	pods    map[string]*backend // by uid
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of a user that may create kwok objects")
	logsDir := flag.String("logs-dir", "pod-logs", "where the containers' log files are written")
	flag.Parse()
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	config.UserAgent = "pod-backends"
	clients := kubernetes.NewForConfigOrDie(config)
	a := &agent{clients: clients, dyn: dynamic.NewForConfigOrDie(config), logsDir: *logsDir, pods: map[string]*backend{}}
	if err := os.MkdirAll(*logsDir, 0o755); err != nil {
		log.Fatal(err)
	}
	// The resync is the retry clock for a pod whose set-up failed.
	factory := informers.NewSharedInformerFactory(clients, 5*time.Second)
	pods := factory.Core().V1().Pods().Informer()
	_, _ = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.sync(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { a.sync(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				a.stop(string(pod.UID))
			}
		},
	})
	ctx := context.Background()
	factory.Start(ctx.Done())
	select {}
}

// sync serves a pod once it is scheduled, and stops serving it once it is terminating.
func (a *agent) sync(pod *corev1.Pod) {
	uid := string(pod.UID)
	if pod.DeletionTimestamp != nil {
		a.stop(uid)
		return
	}
	if pod.Spec.NodeName == "" {
		return
	}
	a.mu.Lock()
	_, served := a.pods[uid]
	if !served {
		a.pods[uid] = &backend{conns: map[net.Conn]struct{}{}}
	}
	b := a.pods[uid]
	a.mu.Unlock()
	if served {
		return
	}
	if err := a.serve(pod, b); err != nil {
		// Forget it, so the next event or resync of the pod tries again.
		log.Printf("pod %s/%s: %v (will retry)", pod.Namespace, pod.Name, err)
		a.stop(uid)
	}
}

func (a *agent) stop(uid string) {
	a.mu.Lock()
	b := a.pods[uid]
	delete(a.pods, uid)
	a.mu.Unlock()
	if b != nil {
		b.close()
	}
}

func (a *agent) serve(pod *corev1.Pod, b *backend) error {
	microservice := pod.Labels["app"]
	if microservice == "" {
		microservice = pod.Name
	}
	echoHTTP := pod.Annotations["demo.hasura-tui.dev/backend"] != "tcp-echo"
	var forwards []any
	var logs []any
	for _, container := range pod.Spec.Containers {
		for _, port := range container.Ports {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			b.listeners = append(b.listeners, l)
			if echoHTTP {
				go serveHTTP(l, b, microservice, pod.Name)
			} else {
				go serveTCP(l, b)
			}
			forwards = append(forwards, map[string]any{
				"ports":  []any{int64(port.ContainerPort)},
				"target": map[string]any{"address": "127.0.0.1", "port": int64(l.Addr().(*net.TCPAddr).Port)},
			})
		}
		file := filepath.Join(a.logsDir, fmt.Sprintf("%s_%s_%s.log", pod.Namespace, pod.Name, container.Name))
		if err := writeLog(file, pod, container.Name, microservice); err != nil {
			return err
		}
		logs = append(logs, map[string]any{"containers": []any{container.Name}, "logsFile": file, "follow": true})
	}
	owner := []any{map[string]any{
		"apiVersion": "v1", "kind": "Pod", "name": pod.Name, "uid": string(pod.UID),
	}}
	ctx := context.Background()
	if len(forwards) > 0 {
		obj := object("PortForward", pod, owner, map[string]any{"forwards": forwards})
		if err := a.put(ctx, portForwards, obj); err != nil {
			return fmt.Errorf("PortForward: %w", err)
		}
	}
	obj := object("Logs", pod, owner, map[string]any{"logs": logs})
	if err := a.put(ctx, logObjects, obj); err != nil {
		return fmt.Errorf("Logs: %w", err)
	}
	mark := []byte(`{"metadata":{"annotations":{"` + servingAnnotation + `":"serving"}}}`)
	if _, err := a.clients.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, mark, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("marking the pod served: %w", err)
	}
	return nil
}

// put creates obj, or replaces one of the same name: a StatefulSet pod comes back under its
// name before the garbage collector has removed its predecessor's objects.
func (a *agent) put(ctx context.Context, resource schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	client := a.dyn.Resource(resource).Namespace(obj.GetNamespace())
	_, err := client.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		if err := client.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		_, err = client.Create(ctx, obj, metav1.CreateOptions{})
	}
	return err
}

func object(kind string, pod *corev1.Pod, owner []any, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       kind,
		"metadata":   map[string]any{"name": pod.Name, "namespace": pod.Namespace, "ownerReferences": owner},
		"spec":       spec,
	}}
}

// writeLog writes the lines a container printed at start, in the CRI log format kwok reads
// (`<RFC3339Nano> stdout F <line>`, the kubelet's `pkg/kubelet/kuberuntime/logs`): the same
// lines as the demo's pods (src/demo/logs.rs, `container_started`), the microservice's own for
// its main container (kubectl's default: the annotation, else the first), a sidecar's else.
func writeLog(file string, pod *corev1.Pod, container, microservice string) error {
	main := pod.Annotations["kubectl.kubernetes.io/default-container"]
	if main == "" && len(pod.Spec.Containers) > 0 {
		main = pod.Spec.Containers[0].Name
	}
	texts := []string{
		fmt.Sprintf("info sidecar %s starting for %s (pod %s)", container, microservice, pod.Name),
		"info proxy ready",
	}
	if container == main {
		texts = []string{
			fmt.Sprintf("INFO starting %s (pod %s)", microservice, pod.Name),
			"INFO configuration loaded",
			"INFO listening for connections",
		}
	}
	now := time.Now().UTC()
	var lines strings.Builder
	for i, text := range texts {
		at := now.Add(time.Duration(i) * time.Millisecond)
		// The runtime's stamp, then the line as the app wrote it: like the demo's apps, with
		// a stamp of its own in seconds.
		fmt.Fprintf(&lines, "%s stdout F %s %s\n", at.Format(time.RFC3339Nano), at.Format("2006-01-02T15:04:05Z"), text)
	}
	return os.WriteFile(file, []byte(lines.String()), 0o644)
}

func serveHTTP(l net.Listener, b *backend, microservice, pod string) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		headers := map[string]string{}
		for name, values := range r.Header {
			headers[strings.ToLower(name)] = strings.Join(values, ", ")
		}
		if r.Host != "" {
			headers["host"] = r.Host
		}
		body, _ := json.Marshal(map[string]any{
			"microservice": microservice, "pod": pod, "method": r.Method,
			"path": r.URL.RequestURI(), "headers": headers,
		})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	server := &http.Server{Handler: handler, ConnState: func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			if !b.track(c) {
				_ = c.Close()
			}
		case http.StateClosed, http.StateHijacked:
			b.forget(c)
		}
	}}
	_ = server.Serve(l)
}

func serveTCP(l net.Listener, b *backend) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		if !b.track(c) {
			_ = c.Close()
			continue
		}
		go func() {
			defer b.forget(c)
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}
