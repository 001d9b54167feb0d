// What PPTist's env.d.ts (vite/client) gives a .ts file that imports a .vue component.
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent
  export default component
}
